/**
 * Signing in and out in the browser: the login page, the dev login (development
 * and test only; production signs in through the proxy or a bearer token) and
 * logout. Who a request is comes from the authenticator in plugins/auth; this
 * module only sets and clears its cookie.
 */
import { Elysia, t } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import { SESSION_COOKIE, sessionCookie } from '../../../plugins/auth'
import { fromThisSite, safeNext } from '../../../plugins/auth/origin'
import type { rbac } from '../../../plugins/rbac'
import type { Config } from '../../config'
import { AppError, forbidden } from '../../errors'
import { isEmail, normaliseEmail } from '../../identity'
import type { SignInRevocations } from './revocations'
import { LoginPage } from './views'

export interface AuthModuleOptions {
  config: Config
  audit: AuditLog
  /** Logout revokes the sign-in server-side, not only in the browser. */
  signIns: Pick<SignInRevocations, 'revoke'>
  guard: ReturnType<typeof rbac>
}

/**
 * @example
 * app.use(authModule({ config, audit, signIns, guard }))
 */
export const authModule = ({ config, audit, signIns, guard }: AuthModuleOptions) =>
  new Elysia({ name: 'module/auth' })
    .use(guard)
    .get(
      '/login',
      ({ actor, query }) => LoginPage({ actor, next: safeNext(query.next), devLogin: config.auth.mode === 'dev' }),
      { permission: 'public', query: t.Object({ next: t.Optional(t.String({ maxLength: 500 })) }), detail: { hide: true } },
    )
    .post(
      '/auth/dev-login',
      async ({ body, cookie, request, meta, set }) => {
        if (config.auth.mode !== 'dev') throw forbidden('Dev login is disabled in this environment.', 'dev_login_disabled')
        // Guards the login form against login CSRF.
        if (!fromThisSite(request, config.publicUrl)) throw forbidden('Log in from this site’s own login page.', 'csrf_failed')
        const email = normaliseEmail(body.email)
        if (!isEmail(email)) throw new AppError(422, 'validation_failed', 'Enter a valid email address.')
        cookie[SESSION_COOKIE]!.set(sessionCookie(config.auth, email))
        // The person logging in acts under no role yet: their user and roles are resolved on their next request.
        await audit.record({ ...meta.audit, actorId: null, actor: email, role: null, action: 'login', metadata: { method: 'dev-login' } })
        const next = safeNext(body.next)
        if (request.headers.get('hx-request') === 'true') {
          set.headers['hx-redirect'] = next
          return ''
        }
        set.status = 303
        set.headers.location = next
        return ''
      },
      {
        body: t.Object({ email: t.String({ minLength: 3, maxLength: 254 }), next: t.Optional(t.String({ maxLength: 500 })) }),
        permission: 'public',
        detail: { hide: true },
      },
    )
    .post(
      '/auth/logout',
      async ({ actor, meta, cookie, set }) => {
        // The cookie itself would stay valid for its 12 hours: its sign-in ends on the server too.
        if (actor.via === 'cookie') {
          await signIns.revoke(actor.email)
          await audit.record({ ...meta.audit, action: 'logout', target: `user:${actor.userId}` })
        }
        cookie[SESSION_COOKIE]!.remove()
        set.status = 303
        set.headers.location = '/login'
        return ''
      },
      { permission: 'public', body: t.Optional(t.Object({ _csrf: t.Optional(t.String()) })), detail: { hide: true } },
    )
