/**
 * Identity. Who is calling is decided here, by configuration:
 *  - dev mode: `X-User-Id: <email>` (development and test) and the signed
 *    cookie set by `POST /auth/dev-login` (src/modules/auth); `X-Role` simulates roles in test only;
 *  - prod mode: `X-Authenticated-User` from a proxy in TRUSTED_PROXY_IPS, or a
 *    bearer JWT (HS256 secret or JWKS; issuer, audience and expiry checked;
 *    the `roles` claim mapped to internal roles by JWT_ROLE_MAP).
 *  - every mode: a personal access token as the bearer (told from a JWT by its
 *    prefix, looked up on every use; its owner's roles as they are now), and a
 *    payment provider's webhook signed in `X-Signature` (./signature.ts), which
 *    acts as the `payments-provider` role and nothing else.
 * Browser writes — signed in by the cookie or by the proxy — must carry the CSRF
 * token and come from this site (Sec-Fetch-Site / Origin); a revoked sign-in
 * (logout, role change, erasure) no longer counts. JWT `email` is trusted only
 * when verified, and unmapped `roles` claims are dropped, unless configured otherwise.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import type { Config } from '../../src/config'
import { AppError, forbidden, unauthenticated } from '../../src/errors'
import { own } from '../../src/lookup'
import {
  ACCESS_TOKEN_PREFIX,
  isEmail,
  normaliseEmail,
  primaryRole,
  type AccessTokenResolver,
  type Actor,
  type AuthContext,
  type Authenticator,
  type ErasureCheck,
  type IdentityResolver,
  type SignInRevocationCheck,
} from '../../src/identity'
import type { Permission } from '../../src/identity/permissions'
import { requestIdOf, requestState } from '../logging'
import { PAYMENT_PROVIDER_ROLE, permissionsFor } from '../rbac/matrix'
import { csrfTokenFor, expiryOf, signSession, verifyCsrf, verifySession } from './cookie'
import { fromThisSite } from './origin'
import { SIGNATURE_HEADER, verifyWebhook } from './signature'

export const SESSION_COOKIE = 'council_session'
const SESSION_TTL_MS = 12 * 60 * 60 * 1000
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** A role name a `roles` claim may pass through as (the shape role bindings accept). */
const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_:-]{0,63}$/

export interface AuthOptions {
  config: Config
  identity: IdentityResolver
  /** Personal access tokens; without it, a bearer with the token prefix is refused. */
  accessTokens?: AccessTokenResolver
  /** Erased people: a sign-in cookie issued before its holder was erased no longer signs anyone in. */
  erasures?: ErasureCheck
  /** Revoked sign-ins (logout, role change, erasure): a cookie issued before its holder's revocation signs nobody in. */
  signIns?: SignInRevocationCheck
}

const SIGNATURE_REFUSALS = {
  malformed: 'X-Signature must look like t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">.',
  outside_tolerance: 'The webhook was signed too long ago (or in the future); the provider must sign each delivery afresh.',
  mismatch: 'The webhook signature does not match its body.',
} as const

/**
 * @example
 * const authenticator = createAuthenticator({ config, identity })
 * const actor = await authenticator.authenticate({ request, cookie })
 */
export function createAuthenticator({ config, identity, accessTokens, erasures, signIns }: AuthOptions): Authenticator {
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
      clientRequestId: requestState(ctx.request)?.clientRequestId,
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

  /**
   * The person's email, as far as the token vouches for it. `email` is trusted only with
   * `email_verified: true` (JWT_TRUST_UNVERIFIED_EMAIL=true also takes `email`,
   * `preferred_username` or `upn` without it): the email decides ADMIN_EMAILS and which
   * account a role bound by email reaches. Otherwise the person is known as `jwt:<sub>`,
   * which is no address, so neither can apply to them.
   */
  const jwtEmail = (payload: JWTPayload, sub: string): string => {
    const claims = auth.jwtTrustUnverifiedEmail ? [payload.email, payload.preferred_username, payload.upn] : payload.email_verified === true ? [payload.email] : []
    const email = claims.filter((value): value is string => typeof value === 'string').map(normaliseEmail).find(isEmail)
    return email ?? `jwt:${sub}`
  }

  /** Internal roles from the `roles` claim: those JWT_ROLE_MAP maps; unmapped ones only with JWT_PASS_UNMAPPED_ROLES. */
  const jwtRoles = (payload: JWTPayload): string[] => {
    const claimed = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : []
    return claimed.flatMap((role) => {
      const mapped = own(auth.roleClaimMap, role)
      if (mapped !== undefined) return [mapped]
      return auth.jwtPassUnmappedRoles && ROLE_NAME.test(role) ? [role] : []
    })
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
    const { sub } = payload
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255)
      throw unauthenticated('The bearer token\'s "sub" claim must be a string of 1–255 characters naming the person.')
    return toActor(`jwt:${sub}`, jwtEmail(payload, sub), 'jwt', ctx, jwtRoles(payload))
  }

  const fromAccessToken = async (token: string, ctx: AuthContext): Promise<Actor> => {
    if (!accessTokens) throw unauthenticated('Personal access tokens are not accepted here.')
    const owner = await accessTokens.resolveToken(token)
    if ('refused' in owner)
      throw owner.refused === 'expired'
        ? new AppError(401, 'token_expired', 'This access token has expired; create a new one on /me.')
        : unauthenticated('This access token is not valid (revoked, or never issued); create a new one on /me.')
    return toActor(owner.externalId, owner.email, 'token', ctx)
  }

  /** A provider's webhook: only a signature over the raw body (the route parses it as text) identifies it. */
  const fromSignature = (header: string, rawBody: string): Actor => {
    const secret = config.payments.webhookSecret
    if (!secret) throw new AppError(503, 'payments_not_configured', 'Payments are not configured on this server (PAYMENTS_WEBHOOK_SECRET).')
    const check = verifyWebhook(secret, header, rawBody, config.payments.webhookToleranceSeconds)
    if (!check.ok) throw new AppError(401, check.reason === 'outside_tolerance' ? 'signature_expired' : 'invalid_signature', SIGNATURE_REFUSALS[check.reason])
    const roles = [PAYMENT_PROVIDER_ROLE]
    return {
      userId: '',
      externalId: PAYMENT_PROVIDER_ROLE,
      email: PAYMENT_PROVIDER_ROLE,
      roles,
      role: PAYMENT_PROVIDER_ROLE,
      permissions: permissionsOf(roles),
      via: 'signature',
    }
  }

  /**
   * A state-changing browser request, whatever signed it in (the app's cookie or an
   * authenticating proxy's), must come from this site's pages (Sec-Fetch-Site / Origin,
   * defence in depth) and carry the CSRF token bound to `binding` (issue 14, finding 7).
   */
  const checkCsrf = (ctx: AuthContext, binding: string) => {
    if (SAFE_METHODS.has(ctx.request.method)) return
    if (!fromThisSite(ctx.request, config.publicUrl))
      throw forbidden('This change was sent from another site; make it from this site’s own pages.', 'csrf_failed')
    const fromBody =
      ctx.body && typeof ctx.body === 'object' ? (ctx.body as Record<string, unknown>)._csrf : undefined
    const token = ctx.request.headers.get('x-csrf-token') ?? (typeof fromBody === 'string' ? fromBody : undefined)
    if (!verifyCsrf(auth.sessionSecret, binding, token))
      throw forbidden('The form is missing its CSRF token or it has expired; reload the page and try again.', 'csrf_failed')
  }

  /**
   * Did a browser send this? Its requests carry cookies (an authenticating proxy keeps its
   * own session in one), `Origin` or `Sec-Fetch-Site`; a script calling through the proxy
   * sends none of them and needs no token, since no other site can make it send anything.
   */
  const fromBrowser = (request: Request) =>
    request.headers.has('cookie') || request.headers.has('origin') || request.headers.has('sec-fetch-site')

  return {
    clientIp,
    async authenticate(ctx) {
      const { request } = ctx
      const signature = request.headers.get(SIGNATURE_HEADER)
      if (signature !== null && typeof ctx.body === 'string') return fromSignature(signature, ctx.body)
      const authorization = request.headers.get('authorization')
      if (authorization?.toLowerCase().startsWith('bearer ')) {
        const bearer = authorization.slice(7).trim()
        return bearer.startsWith(ACCESS_TOKEN_PREFIX) ? fromAccessToken(bearer, ctx) : fromJwt(bearer, ctx)
      }

      if (auth.mode === 'prod') {
        const proxied = request.headers.get('x-authenticated-user')
        if (proxied) {
          const ip = clientIp(ctx)
          if (!ip || !auth.trustedProxyIps.includes(ip))
            throw unauthenticated('X-Authenticated-User is only accepted from a trusted proxy.')
          const email = normaliseEmail(proxied)
          // The proxy's session is not ours to bind a token to: the token is bound to the person.
          const binding = `proxy:${email}`
          if (fromBrowser(request)) checkCsrf(ctx, binding)
          const actor = await toActor(email, email, 'proxy', ctx)
          actor.csrfToken = csrfTokenFor(auth.sessionSecret, binding)
          return actor
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
        const [erasedAt, revokedAt] = await Promise.all([erasures?.erasedAt(email), signIns?.revokedAt(email)])
        const issuedAt = expiryOf(cookieValue) - SESSION_TTL_MS
        if (erasedAt && issuedAt <= erasedAt.getTime()) return null
        if (revokedAt && issuedAt <= revokedAt.getTime()) return null
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
