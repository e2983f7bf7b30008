/**
 * The page shell: head with the app's own CSS, htmx and small scripts (no CDN,
 * nothing inline: the CSP allows only the app's own files), the navigation of
 * whoever is signed in (error pages too), and the CSRF token that htmx sends
 * with every request from the page. It fits a 390 px phone: the bar wraps, and
 * wide content scrolls inside its own box, never the page.
 */
import type { PropsWithChildren } from '@kitajs/html'
import type { Actor } from '../src/identity'

export interface LayoutProps {
  title: string
  actor: Actor
  /** The current path, to mark the active nav link. */
  path?: string
}

const NAV: Array<{ href: string; label: string; permission?: string }> = [
  { href: '/sessions', label: 'Sessions', permission: 'sessions:read' },
  { href: '/sessions/new', label: 'Ask the council', permission: 'sessions:create' },
  { href: '/roadmap', label: 'Roadmap', permission: 'roadmap:read' },
  { href: '/tickets', label: 'Tickets', permission: 'tickets:read' },
  { href: '/docs', label: 'Docs', permission: 'docs:read' },
  { href: '/palettes', label: 'Palettes', permission: 'palettes:read' },
  { href: '/agents', label: 'Agents', permission: 'agents:invoke' },
  { href: '/status', label: 'Status', permission: 'status:read' },
  { href: '/admin', label: 'Admin', permission: 'admin:view' },
  { href: '/swagger', label: 'API' },
]

export function Layout({ title, actor, path = '', children }: PropsWithChildren<LayoutProps>) {
  const signedIn = actor.via !== 'anonymous'
  const headers = actor.csrfToken ? JSON.stringify({ 'X-CSRF-Token': actor.csrfToken }) : undefined
  return (
    <>
      {'<!doctype html>'}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content='{"includeIndicatorCSS": false}' />
          <title safe>{`${title} · Agent Council`}</title>
          <link rel="icon" href="data:," />
          <link rel="stylesheet" href="/assets/app.css" />
          <script src="/assets/htmx.min.js" defer></script>
          <script src="/assets/app.js" defer></script>
          {/* On every page: htmx may bring a session page in without loading a new document (HX-Location). */}
          <script src="/assets/live.js" defer></script>
        </head>
        <body hx-headers:inherited={headers}>
          <header class="topbar">
            <a class="brand" href="/">
              Agent Council
            </a>
            <nav aria-label="Main">
              {NAV.filter((item) => !item.permission || actor.permissions.has(item.permission as never)).map((item) => (
                <a href={item.href} aria-current={path === item.href ? 'page' : undefined} safe>
                  {item.label}
                </a>
              ))}
            </nav>
            <div class="who">
              {signedIn ? (
                <form method="post" action="/auth/logout" class="inline">
                  <a href="/me" class="muted email" title={actor.email} safe>
                    {actor.email}
                  </a>
                  {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
                  <button type="submit" class="link">
                    Log out
                  </button>
                </form>
              ) : (
                <a href="/login">Log in</a>
              )}
            </div>
          </header>
          <main id="main">{children}</main>
        </body>
      </html>
    </>
  )
}

export function ErrorNotice({ message, requestId }: { message: string; requestId: string }) {
  return (
    <div class="notice error" role="alert">
      <p safe>{message}</p>
      <p class="muted small">
        Request id: <code safe>{requestId}</code>
      </p>
    </div>
  )
}
