/**
 * The authenticator on a bare Elysia app, behind the rbac guard that asks it
 * and with an in-memory identity resolver: who a request is in dev mode
 * (X-User-Id, X-Role in test, the signed cookie with its CSRF token) and in
 * prod mode (HS256 bearer tokens with mapped roles; the proxy header only from
 * a trusted address). The whole app's auth flows: tests/integration/auth-*.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { SignJWT } from 'jose'
import { testConfig } from '../../src/config'
import type { IdentityResolver, SignIn } from '../../src/identity'
import { errors } from '../errors'
import { logging } from '../logging'
import { createLogger } from '../logging/logger'
import { rbac } from '../rbac'
import { createAuthenticator, SESSION_COOKIE, sessionCookie } from '.'
import { csrfTokenFor } from './cookie'

const JWT_SECRET = 'a-bare-app-hs256-secret-0123456789abcdef'

/** Knows everyone; binds `admin` to boss@example.com; remembers each sign-in it was asked about. */
function memoryIdentity() {
  const seen: Array<{ externalId: string; email: string; signIn: SignIn }> = []
  const resolver: IdentityResolver = {
    async resolve(externalId, email, signIn) {
      seen.push({ externalId, email, signIn })
      return { userId: `u-${email}`, externalId, email, roles: email === 'boss@example.com' ? ['admin', 'user'] : ['user'] }
    },
  }
  return { resolver, seen }
}

function build(env: Record<string, string> = {}) {
  const config = testConfig(env)
  const identity = memoryIdentity()
  const logger = createLogger({ level: 'error', sink: () => undefined })
  const app = new Elysia()
    .use(logging({ logger }))
    .use(errors({ logger }))
    .use(rbac({ authenticator: createAuthenticator({ config, identity: identity.resolver }) }))
    .get('/who', ({ actor }) => ({ email: actor.email, roles: actor.roles, role: actor.role, via: actor.via }), { permission: 'public' })
    .get('/me', ({ actor }) => ({ userId: actor.userId, email: actor.email }), { permission: 'me:read' })
    .post('/things', () => ({ ok: true }), { permission: 'sessions:create' })
  const call = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers }))
    return { status: res.status, body: (await res.json()) as any }
  }
  return { config, call, seen: identity.seen }
}

const hsToken = (claims: Record<string, unknown>, { secret = JWT_SECRET, expires = '5m' } = {}) =>
  new SignJWT({ email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('oid-1')
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(new TextEncoder().encode(secret))

describe('dev mode', () => {
  test('X-User-Id names the caller (lower-cased), with the bound roles; the request id reaches the identity resolver', async () => {
    const { call, seen } = build()
    const res = await call('/who', { 'x-user-id': ' Boss@Example.com ', 'x-request-id': 'probe-request-0001' })
    expect(res).toEqual({ status: 200, body: { email: 'boss@example.com', roles: ['admin', 'user'], role: 'admin', via: 'header' } })
    // The server's own request id, with the client's beside it.
    expect(seen[0]).toMatchObject({ externalId: 'boss@example.com', signIn: { clientRequestId: 'probe-request-0001' } })
    expect(seen[0]!.signIn.requestId).not.toBe('probe-request-0001')
    expect(seen[0]!.signIn.roleOf(['user', 'auditor'])).toBe('auditor')
  })

  test('an X-User-Id that is not an email address is 401 invalid_user_id', async () => {
    const { call } = build()
    const res = await call('/who', { 'x-user-id': 'not an email' })
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('invalid_user_id')
  })

  test('no identity: anonymous on a public route, 401 on a guarded one', async () => {
    const { call } = build()
    expect((await call('/who')).body).toMatchObject({ email: 'anonymous', via: 'anonymous', roles: [] })
    expect((await call('/me')).status).toBe(401)
  })

  test('X-Role replaces the bound roles in APP_ENV=test only (user always kept)', async () => {
    expect((await build().call('/who', { 'x-user-id': 'ann@example.com', 'x-role': 'auditor' })).body.roles).toEqual(['user', 'auditor'])
    const dev = build({ APP_ENV: 'development' })
    expect((await dev.call('/who', { 'x-user-id': 'ann@example.com', 'x-role': 'auditor' })).body.roles).toEqual(['user'])
  })

  test('the signed session cookie names the caller; a write with it needs the CSRF token; a forged cookie is no one', async () => {
    const { config, call } = build()
    const value = sessionCookie(config.auth, 'ann@example.com').value
    const cookie = { cookie: `${SESSION_COOKIE}=${value}` }
    expect((await call('/who', cookie)).body).toMatchObject({ email: 'ann@example.com', via: 'cookie' })
    const refused = await call('/things', cookie, 'POST')
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('csrf_failed')
    const token = csrfTokenFor(config.auth.sessionSecret, value)
    expect(await call('/things', { ...cookie, 'x-csrf-token': token }, 'POST')).toEqual({ status: 200, body: { ok: true } })
    expect((await call('/me', { cookie: `${SESSION_COOKIE}=${value.slice(0, -2)}xx` })).status).toBe(401)
  })

  test('sessionCookie is HttpOnly, SameSite=Lax, for the whole site, Secure per COOKIE_SECURE, 12 hours', () => {
    const { config } = build({ COOKIE_SECURE: 'true' })
    expect(sessionCookie(config.auth, 'ann@example.com')).toMatchObject({ httpOnly: true, sameSite: 'lax', secure: true, path: '/', maxAge: 12 * 3600 })
  })
})

describe('prod mode', () => {
  const PROD = { AUTH_MODE: 'prod', JWT_SECRET, JWT_ROLE_MAP: 'Council.Audit=auditor' }

  test('a valid HS256 bearer token names the caller, its roles claim mapped by JWT_ROLE_MAP', async () => {
    const { call } = build(PROD)
    const res = await call('/who', { authorization: `Bearer ${await hsToken({ email: 'Ann@Example.com', roles: ['Council.Audit'] })}` })
    expect(res.body).toEqual({ email: 'ann@example.com', roles: ['user', 'auditor'], role: 'auditor', via: 'jwt' })
  })

  test('an expired token, or one signed with another secret, is 401 naming why', async () => {
    const { call } = build(PROD)
    const expired = await call('/who', { authorization: `Bearer ${await hsToken({ email: 'ann@example.com' }, { expires: '-1m' })}` })
    expect(expired.status).toBe(401)
    expect(expired.body.error.message).toContain('rejected')
    const forged = await call('/who', { authorization: `Bearer ${await hsToken({ email: 'ann@example.com' }, { secret: 'x'.repeat(40) })}` })
    expect(forged.status).toBe(401)
  })

  test('X-User-Id is not trusted, and the proxy header is refused from an address not in TRUSTED_PROXY_IPS', async () => {
    const { call } = build({ ...PROD, TRUSTED_PROXY_IPS: '10.0.0.9' })
    expect((await call('/who', { 'x-user-id': 'ann@example.com' })).body.via).toBe('anonymous')
    const proxied = await call('/who', { 'x-authenticated-user': 'ann@example.com' })
    expect(proxied.status).toBe(401)
    expect(proxied.body.error.message).toContain('trusted proxy')
  })

  test('without JWT_SECRET or JWT_JWKS_URL a bearer token is 401, saying tokens are not accepted', async () => {
    const { call } = build({ AUTH_MODE: 'prod', TRUSTED_PROXY_IPS: '10.0.0.9' })
    const res = await call('/who', { authorization: `Bearer ${await hsToken({ email: 'ann@example.com' })}` })
    expect(res.status).toBe(401)
    expect(res.body.error.message).toContain('not accepted')
  })
})
