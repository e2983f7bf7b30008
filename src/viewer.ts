/**
 * Who is looking at a page that is about to show an error: the signed-in
 * person if the request says who they are, else ANONYMOUS. It never throws (an
 * error page must render whatever went wrong, a bad credential included), and it
 * identifies only: the request is read as a GET, so a refused write (a CSRF
 * failure, say) still shows its error under the person's own navigation.
 */
import { ANONYMOUS, type Actor, type Authenticator } from './identity'

type CookieJar = Record<string, { value?: unknown }>

/** The Cookie header as the jar the authenticator reads (Elysia has not parsed it for unmatched routes). */
function cookieJar(header: string | null): CookieJar {
  const jar: CookieJar = {}
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    try {
      jar[name] = { value: decodeURIComponent(part.slice(eq + 1).trim()) }
    } catch {
      // A malformed cookie is skipped, not fatal.
    }
  }
  return jar
}

export type Viewer = (request: Request, cookie?: CookieJar) => Promise<Actor>

/**
 * @example
 * const viewer = createViewer(authenticator)
 * const actor = await viewer(request)
 */
export function createViewer(authenticator: Authenticator): Viewer {
  return async (request, cookie) => {
    try {
      const read = new Request(request.url, { method: 'GET', headers: request.headers })
      const jar = cookie && Object.keys(cookie).length > 0 ? cookie : cookieJar(request.headers.get('cookie'))
      return (await authenticator.authenticate({ request: read, cookie: jar })) ?? ANONYMOUS
    } catch {
      return ANONYMOUS
    }
  }
}
