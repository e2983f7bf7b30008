/**
 * Where a browser request comes from, and where one may be sent back to: the
 * one helper behind the dev login's login-CSRF check, the CSRF defence in depth
 * of cookie and proxy sessions (plugins/auth), and the `next` of the login page,
 * its redirect and its `HX-Redirect` (src/modules/auth). Issue 14, findings 1, 2 and 7.
 */

/** An `Origin` header's host, or null for `null`, a malformed value or a scheme other than http(s). */
function originHost(value: string): string | null {
  if (!URL.canParse(value)) return null
  const url = new URL(value)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : null
}

/**
 * Does this request come from a page of this site? `Sec-Fetch-Site` decides when
 * the browser sends it (same-origin, or `none`: typed or bookmarked); else `Origin`,
 * compared by host with the request's own URL and PUBLIC_URL (a TLS-terminating
 * proxy changes the scheme, not the host). `Origin: null` (sandboxed frames, some
 * redirects) and unparseable origins are foreign. A request with neither header is
 * not from a browser form and passes: the CSRF token is the check for it.
 * @example
 * if (!fromThisSite(request, config.publicUrl)) throw forbidden('Log in from this site’s own login page.', 'csrf_failed')
 */
export function fromThisSite(request: Request, publicUrl: string): boolean {
  const site = request.headers.get('sec-fetch-site')
  if (site) return site === 'same-origin' || site === 'none'
  const origin = request.headers.get('origin')
  if (origin === null) return true
  const host = originHost(origin)
  return host !== null && (host === new URL(request.url).host || host === new URL(publicUrl).host)
}
