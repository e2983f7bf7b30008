/**
 * Identity. Who is calling is decided here, by configuration:
 *  - dev mode: `X-User-Id: <email>` (development and test) and the signed
 *    cookie set by `POST /auth/dev-login` (src/modules/auth); `X-Role` simulates roles in test only;
 *  - prod mode: `X-Authenticated-User` from a proxy in TRUSTED_PROXY_IPS, or a
 *    bearer JWT (HS256 secret or JWKS; issuer, audience and expiry checked;
 *    the `roles` claim mapped to internal roles by JWT_ROLE_MAP).
 * Cookie-authenticated writes must carry the CSRF token.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import type { Config } from '../../src/config'
import { AppError, forbidden, unauthenticated } from '../../src/errors'
import {
  isEmail,
  normaliseEmail,
  primaryRole,
  type Actor,
  type AuthContext,
  type Authenticator,
  type IdentityResolver,
} from '../../src/identity'
import type { Permission } from '../../src/identity/permissions'
import { requestIdOf } from '../logging'
import { permissionsFor } from '../rbac/matrix'
import { csrfTokenFor, signSession, verifyCsrf, verifySession } from './cookie'

export const SESSION_COOKIE = 'council_session'
const SESSION_TTL_MS = 12 * 60 * 60 * 1000
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export interface AuthOptions {
  config: Config
  identity: IdentityResolver
}

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
    // The roles this request acts under, given the bound ones: the JWT's mapped claims join them; in
    // test, X-Role replaces them. The first-sight audit event takes its role from the same function.
    const rolesFor = (bound: readonly string[]) => {
      const simulated = auth.allowRoleHeader ? ctx.request.headers.get('x-role') : null
      if (simulated) return [...new Set(['user', ...simulated.split(',').map((role) => role.trim()).filter(Boolean)])]
      return [...new Set([...bound, ...extraRoles])]
    }
    const found = await identity.resolve(externalId, email, {
      requestId: requestIdOf(ctx.request),
      ip: clientIp(ctx),
      roleOf: (bound) => primaryRole(rolesFor(bound), config.agentRoleAllowlist),
    })
    const roles = rolesFor(found.roles)
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
        if (!isEmail(email)) throw new AppError(401, 'invalid_user_id', 'X-User-Id must be an email address.')
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

/**
 * The signed session cookie for `email`, as the dev login sets it: HttpOnly,
 * SameSite=Lax, Secure per COOKIE_SECURE, valid for 12 hours.
 * @example
 * cookie[SESSION_COOKIE]!.set(sessionCookie(config.auth, 'ann@example.com'))
 */
export const sessionCookie = (auth: Config['auth'], email: string) => ({
  value: signSession(auth.sessionSecret, email, SESSION_TTL_MS),
  httpOnly: true,
  sameSite: 'lax' as const,
  secure: auth.cookieSecure,
  path: '/',
  maxAge: SESSION_TTL_MS / 1000,
})

/**
 * @deprecated Import Actor from src/identity. Kept only until src/modules/jobs and
 * src/modules/budgets (being reworked in other branches) switch their imports.
 */
export type { Actor } from '../../src/identity'
