/**
 * Identity. Who is calling is decided here, by configuration:
 *  - dev mode: `X-User-Id: <email>` (development and test) and the signed
 *    cookie set by `POST /auth/dev-login`; `X-Role` simulates roles in test only;
 *  - prod mode: `X-Authenticated-User` from a proxy in TRUSTED_PROXY_IPS, or a
 *    bearer JWT (HS256 secret or JWKS; issuer, audience and expiry checked;
 *    the `roles` claim mapped to internal roles by JWT_ROLE_MAP).
 * Cookie-authenticated writes must carry the CSRF token.
 */
import { Elysia, t } from 'elysia'
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import type { Config } from '../../src/config'
import { AppError, forbidden, unauthenticated } from '../../src/errors'
import type { IdentityService } from '../../src/modules/identity/service'
import type { AuditLog } from '../audit'
import { requestIdOf } from '../logging'
import type { rbac } from '../rbac'
import { permissionsFor, type Permission } from '../rbac/matrix'
import { csrfTokenFor, signSession, verifyCsrf, verifySession } from './cookie'

export const SESSION_COOKIE = 'council_session'
const SESSION_TTL_MS = 12 * 60 * 60 * 1000
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const EMAIL = /^[^\s@<>"'\u0000]{1,64}@[^\s@<>"'\u0000]{1,190}$/

export interface Actor {
  userId: string
  externalId: string
  email: string
  roles: string[]
  /** The role this person acts under, recorded on jobs and audit events: see primaryRole. */
  role: string
  permissions: Set<Permission>
  via: 'header' | 'cookie' | 'jwt' | 'proxy' | 'anonymous'
  /** The CSRF token for cookie sessions, rendered into pages. */
  csrfToken?: string
}

export const ANONYMOUS: Actor = Object.freeze({
  userId: '',
  externalId: '',
  email: 'anonymous',
  roles: [],
  role: 'anonymous',
  permissions: new Set<Permission>(),
  via: 'anonymous' as const,
})

/**
 * The role recorded on jobs and audit events, one rule for all of them: an
 * allowlisted agent role first (it is what an agent call acts under), then the
 * most privileged built-in role held.
 */
export const primaryRole = (roles: readonly string[], prefer: readonly string[] = []): string =>
  roles.find((role) => prefer.includes(role)) ??
  (roles.includes('admin') ? 'admin' : roles.includes('auditor') ? 'auditor' : (roles[0] ?? 'user'))

interface CookieJar {
  [name: string]: { value?: unknown }
}

export interface AuthContext {
  request: Request
  cookie: CookieJar
  body?: unknown
  server?: { requestIP(request: Request): { address: string } | null } | null
}

export interface Authenticator {
  /** The caller, or null when the request carries no identity. Throws 401 on a bad credential. */
  authenticate(ctx: AuthContext): Promise<Actor | null>
  clientIp(ctx: Pick<AuthContext, 'request' | 'server'>): string | null
}

export interface AuthOptions {
  config: Config
  identity: IdentityService
}

type RbacPlugin = ReturnType<typeof rbac>

const normaliseEmail = (value: string) => value.trim().toLowerCase()

/**
 * @example
 * const authenticator = createAuthenticator({ config, identity })
 * const actor = await authenticator.authenticate({ request, cookie })
 */
export function createAuthenticator({ config, identity }: AuthOptions): Authenticator {
  const { auth } = config
  const jwks = auth.jwksUrl ? createRemoteJWKSet(new URL(auth.jwksUrl)) : null
  const hsKey = auth.jwtSecret ? new TextEncoder().encode(auth.jwtSecret) : null

  // Every request needs its caller's permissions; the few distinct role sets are computed once each.
  const permissionsCache = new Map<string, Set<Permission>>()
  const permissionsOf = (roles: string[]) => {
    const key = roles.join(',')
    let permissions = permissionsCache.get(key)
    if (!permissions) {
      permissions = permissionsFor(roles, config.agentRoleAllowlist)
      if (permissionsCache.size < 1000) permissionsCache.set(key, permissions)
    }
    return permissions
  }

  const clientIp: Authenticator['clientIp'] = ({ request, server }) => server?.requestIP(request)?.address ?? null

  const toActor = async (
    externalId: string,
    email: string,
    via: Actor['via'],
    ctx: AuthContext,
    extraRoles: string[] = [],
  ): Promise<Actor> => {
    const found = await identity.resolve(externalId, email, { requestId: requestIdOf(ctx.request), ip: clientIp(ctx) })
    let roles = [...new Set([...found.roles, ...extraRoles])]
    if (auth.allowRoleHeader) {
      const simulated = ctx.request.headers.get('x-role')
      if (simulated) roles = [...new Set(['user', ...simulated.split(',').map((role) => role.trim()).filter(Boolean)])]
    }
    return {
      userId: found.userId,
      externalId,
      email,
      roles,
      role: primaryRole(roles, config.agentRoleAllowlist),
      permissions: permissionsOf(roles),
      via,
    }
  }

  const fromJwt = async (token: string, ctx: AuthContext): Promise<Actor> => {
    if (!jwks && !hsKey) throw unauthenticated('Bearer tokens are not accepted here: no JWT_SECRET or JWT_JWKS_URL is set.')
    let payload: JWTPayload
    try {
      const options = {
        issuer: auth.jwtIssuer ?? undefined,
        audience: auth.jwtAudience ?? undefined,
        requiredClaims: ['exp', 'sub'],
      }
      payload = jwks
        ? (await jwtVerify(token, jwks, options)).payload
        : (await jwtVerify(token, hsKey!, { ...options, algorithms: ['HS256'] })).payload
    } catch (error) {
      throw unauthenticated(`The bearer token was rejected (${(error as Error).message}). Get a new token and retry.`)
    }
    const email = [payload.email, payload.preferred_username, payload.upn, payload.sub].find(
      (value): value is string => typeof value === 'string' && value.length > 0,
    )!
    const claimed = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : []
    const mapped = claimed.map((role) => auth.roleClaimMap[role] ?? role)
    return toActor(`jwt:${payload.sub}`, normaliseEmail(email), 'jwt', ctx, mapped)
  }

  const checkCsrf = (ctx: AuthContext, sessionCookie: string) => {
    if (SAFE_METHODS.has(ctx.request.method)) return
    const fromBody =
      ctx.body && typeof ctx.body === 'object' ? (ctx.body as Record<string, unknown>)._csrf : undefined
    const token = ctx.request.headers.get('x-csrf-token') ?? (typeof fromBody === 'string' ? fromBody : undefined)
    if (!verifyCsrf(auth.sessionSecret, sessionCookie, token))
      throw forbidden('The form is missing its CSRF token or it has expired; reload the page and try again.', 'csrf_failed')
  }

  return {
    clientIp,
    async authenticate(ctx) {
      const { request } = ctx
      const authorization = request.headers.get('authorization')
      if (authorization?.toLowerCase().startsWith('bearer ')) return fromJwt(authorization.slice(7).trim(), ctx)

      if (auth.mode === 'prod') {
        const proxied = request.headers.get('x-authenticated-user')
        if (proxied) {
          const ip = clientIp(ctx)
          if (!ip || !auth.trustedProxyIps.includes(ip))
            throw unauthenticated('X-Authenticated-User is only accepted from a trusted proxy.')
          const email = normaliseEmail(proxied)
          return toActor(email, email, 'proxy', ctx)
        }
        return null
      }

      const headerUser = auth.trustUserIdHeader ? request.headers.get('x-user-id') : null
      if (headerUser) {
        const email = normaliseEmail(headerUser)
        if (!EMAIL.test(email)) throw new AppError(401, 'invalid_user_id', 'X-User-Id must be an email address.')
        return toActor(email, email, 'header', ctx)
      }

      const cookieValue = ctx.cookie[SESSION_COOKIE]?.value
      if (typeof cookieValue === 'string' && cookieValue) {
        const email = verifySession(auth.sessionSecret, cookieValue)
        if (!email) return null
        checkCsrf(ctx, cookieValue)
        const actor = await toActor(email, email, 'cookie', ctx)
        actor.csrfToken = csrfTokenFor(auth.sessionSecret, cookieValue)
        return actor
      }
      return null
    },
  }
}

/** Is the request same-origin? Guards the login form against login CSRF. */
function sameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site')
  if (site) return site === 'same-origin' || site === 'none'
  const origin = request.headers.get('origin')
  if (!origin) return true
  return new URL(origin).host === new URL(request.url).host
}

const safeNext = (next: unknown): string =>
  typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/sessions'

/**
 * Routes of the dev login (development and test only) and logout.
 * @example
 * app.use(authRoutes({ config, audit }))
 */
export const authRoutes = ({ config, audit, guard }: { config: Config; audit: AuditLog; guard: RbacPlugin }) =>
  new Elysia({ name: 'plugin/auth/routes' })
    .use(guard)
    .post(
      '/auth/dev-login',
      async ({ body, cookie, request, set }) => {
        if (config.auth.mode !== 'dev') throw forbidden('Dev login is disabled in this environment.', 'dev_login_disabled')
        if (!sameOrigin(request)) throw forbidden('Log in from this site’s own login page.', 'csrf_failed')
        const email = normaliseEmail(body.email)
        if (!EMAIL.test(email)) throw new AppError(422, 'validation_failed', 'Enter a valid email address.')
        cookie[SESSION_COOKIE]!.set({
          value: signSession(config.auth.sessionSecret, email, SESSION_TTL_MS),
          httpOnly: true,
          sameSite: 'lax',
          secure: config.auth.cookieSecure,
          path: '/',
          maxAge: SESSION_TTL_MS / 1000,
        })
        await audit.record({ action: 'login', actor: email, requestId: requestIdOf(request), metadata: { method: 'dev-login' } })
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
      ({ cookie, set }) => {
        cookie[SESSION_COOKIE]!.remove()
        set.status = 303
        set.headers.location = '/login'
        return ''
      },
      { permission: 'public', body: t.Optional(t.Object({ _csrf: t.Optional(t.String()) })), detail: { hide: true } },
    )
