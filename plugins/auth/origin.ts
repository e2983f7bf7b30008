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

const PLACEHOLDER = 'http://this-site.invalid'

/**
 * Where to go after logging in: a path on this site, else `fallback`. Browsers read
 * `\` as `/` and drop tabs and newlines inside a URL, so `/\evil.example` and
 * `/<TAB>/evil.example` leave the site although they start with one slash: any
 * backslash or control character is refused, and what remains must resolve to a
 * path of this origin. The answer is that resolved path (with its query and hash).
 * @example
 * safeNext('/sessions/42?tab=log') // '/sessions/42?tab=log'
 * safeNext('/\\evil.example')       // '/sessions'
 */
export function safeNext(next: unknown, fallback = '/sessions'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//')) return fallback
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return fallback
  if (!URL.canParse(next, PLACEHOLDER)) return fallback
  const resolved = new URL(next, PLACEHOLDER)
  if (resolved.origin !== PLACEHOLDER) return fallback
  return `${resolved.pathname}${resolved.search}${resolved.hash}`
}
