/**
 * Identity from outside, prod mode: HS256 and JWKS bearer tokens and the
 * trusted-proxy header; X-User-Id and the dev login never trusted. Auth does not
 * depend on the dialect, so these run on the embedded database.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { signSession } from '../../plugins/auth/cookie'
import { buildTestApp, type TestApp } from '../helpers/app'
import { COOKIE_NAME, form, FORM } from './auth-support'
import { expectErrorShape, freshUser, useApp } from './support'

const JWT_SECRET = 'an-hs256-secret-that-is-long-enough-0123456789'
const ISSUER = 'https://login.example.test/tenant'
const AUDIENCE = 'api://agent-council'

const PROD_ENV = {
  AUTH_MODE: 'prod',
  JWT_SECRET,
  JWT_ISSUER: ISSUER,
  JWT_AUDIENCE: AUDIENCE,
  JWT_ROLE_MAP: 'Council.Admin=admin,Council.Audit=auditor',
}

interface TokenOptions {
  sub?: string
  email?: string
  roles?: string[]
  issuer?: string
  audience?: string
  expiresAt?: number | string
  secret?: string
  withoutExp?: boolean
}

async function hsToken(options: TokenOptions = {}) {
  const claims: Record<string, unknown> = { roles: options.roles ?? [] }
  // A verified email: an unverified one does not name the person (tests/integration/security-findings.test.ts, finding 8).
  if (options.email !== undefined) Object.assign(claims, { email: options.email, email_verified: true })
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub ?? `sub-${crypto.randomUUID()}`)
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
  if (!options.withoutExp) jwt = jwt.setExpirationTime(options.expiresAt ?? '5m')
  return jwt.sign(new TextEncoder().encode(options.secret ?? JWT_SECRET))
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('prod mode: HS256 bearer JWT', () => {
  const app = useApp(PROD_ENV)

  test('a valid token authenticates; roles claim mapped by JWT_ROLE_MAP (Council.Admin → admin)', async () => {
    const email = freshUser('jwtadmin')
    const token = await hsToken({ sub: 'entra-oid-1', email, roles: ['Council.Admin'] })
    const res = await app().json('GET', '/api/v1/me', { headers: bearer(token) })
    expect(res.status).toBe(200)
    expect(res.body.external_id).toBe('jwt:entra-oid-1')
    expect(res.body.email).toBe(email)
    expect(res.body.roles).toContain('user')
    expect(res.body.roles).toContain('admin')
    expect(res.body.roles).not.toContain('Council.Admin')
    expect(res.body.permissions).toContain('sessions:hard_delete')
  })

  test('a token without roles is a plain member', async () => {
    const res = await app().json('GET', '/api/v1/me', { headers: bearer(await hsToken({ email: freshUser() })) })
    expect(res.status).toBe(200)
    expect(res.body.roles).toEqual(['user'])
    expect(res.body.permissions).not.toContain('sessions:hard_delete')
  })

  test('the same subject is the same user across tokens', async () => {
    const sub = `stable-${crypto.randomUUID()}`
    const first = await app().json('GET', '/api/v1/me', { headers: bearer(await hsToken({ sub, email: freshUser() })) })
    const second = await app().json('GET', '/api/v1/me', { headers: bearer(await hsToken({ sub, email: freshUser() })) })
    expect(second.body.id).toBe(first.body.id)
  })

  test('a bearer-authenticated write needs no CSRF token', async () => {
    const res = await app().json('POST', '/api/v1/sessions', {
      headers: bearer(await hsToken({ email: freshUser() })),
      body: { question: 'From an integrator?' },
    })
    expect(res.status).toBe(201)
  })

  const rejected: Array<[string, () => Promise<string>]> = [
    ['expired', () => hsToken({ expiresAt: Math.floor(Date.now() / 1000) - 3600 })],
    ['wrong audience', () => hsToken({ audience: 'api://someone-else' })],
    ['wrong issuer', () => hsToken({ issuer: 'https://evil.example/' })],
    ['bad signature (other secret)', () => hsToken({ secret: 'another-secret-that-is-also-long-enough-987654' })],
    ['no expiry', () => hsToken({ withoutExp: true })],
    [
      'tampered payload',
      async () => {
        const [header, , signature] = (await hsToken({ roles: [] })).split('.')
        const payload = Buffer.from(
          JSON.stringify({ sub: 'x', roles: ['Council.Admin'], iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }),
        ).toString('base64url')
        return `${header}.${payload}.${signature}`
      },
    ],
    [
      'alg none',
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
        const payload = Buffer.from(
          JSON.stringify({ sub: 'x', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }),
        ).toString('base64url')
        return `${header}.${payload}.`
      },
    ],
    ['not a JWT at all', async () => 'definitely-not-a-jwt'],
  ]
  for (const [label, make] of rejected) {
    test(`${label} → 401 in the error shape`, async () => {
      const res = await app().json('GET', '/api/v1/me', { headers: bearer(await make()) })
      expectErrorShape(expect, res, 401, 'unauthenticated')
    })
  }

  test('X-User-Id is NOT trusted in prod mode: 401', async () => {
    const res = await app().json('GET', '/api/v1/me', { user: freshUser() })
    expectErrorShape(expect, res, 401, 'unauthenticated')
    const write = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question: 'Spoofed?' } })
    expectErrorShape(expect, write, 401)
  })

  test('the dev-login cookie is not accepted in prod mode, and dev login itself is disabled', async () => {
    const t = app()
    const cookie = `${COOKIE_NAME}=${signSession(t.config.auth.sessionSecret, freshUser(), 60_000)}`
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie } }), 401)
    const login = await t.call('POST', '/auth/dev-login', { body: form({ email: freshUser() }), headers: FORM })
    expect(login.status).toBe(403)
    expect(login.headers.getSetCookie()).toEqual([])
  })

  test('X-Authenticated-User without a socket address (app.handle) is rejected: 401', async () => {
    const res = await app().json('GET', '/api/v1/me', { headers: { 'x-authenticated-user': freshUser() } })
    expectErrorShape(expect, res, 401, 'unauthenticated')
  })
})

describe('prod mode: JWKS (RS256)', () => {
  let jwks: ReturnType<typeof Bun.serve> | undefined
  let privateKey: CryptoKey
  let otherPrivateKey: CryptoKey
  let t: TestApp | undefined
  const KID = 'test-key-1'

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256')
    privateKey = pair.privateKey
    otherPrivateKey = (await generateKeyPair('RS256')).privateKey
    const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }
    jwks = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request) =>
        new URL(request.url).pathname === '/.well-known/jwks.json'
          ? Response.json({ keys: [publicJwk] })
          : new Response('not found', { status: 404 }),
    })
    t = await buildTestApp({
      AUTH_MODE: 'prod',
      JWT_JWKS_URL: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_ROLE_MAP: 'Council.Admin=admin',
    })
  })

  afterAll(async () => {
    await t?.close()
    jwks?.stop(true)
  })

  const rsToken = (key: CryptoKey, kid = KID, claims: Record<string, unknown> = {}) =>
    new SignJWT({ email: freshUser('jwks'), email_verified: true, roles: ['Council.Admin'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(`rs-${crypto.randomUUID()}`)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key)

  test('a token signed with the published key is accepted', async () => {
    const res = await t!.json('GET', '/api/v1/me', { headers: bearer(await rsToken(privateKey)) })
    expect(res.status).toBe(200)
    expect(res.body.roles).toContain('admin')
  })

  test('a token signed with an unpublished key is 401', async () => {
    const res = await t!.json('GET', '/api/v1/me', { headers: bearer(await rsToken(otherPrivateKey)) })
    expectErrorShape(expect, res, 401)
  })

  test('an HS256 token is not accepted when only JWKS is configured (no algorithm confusion)', async () => {
    const res = await t!.json('GET', '/api/v1/me', { headers: bearer(await hsToken()) })
    expectErrorShape(expect, res, 401)
  })
})

describe('prod mode: trusted proxy header over a real socket', () => {
  /** Serves the app on 127.0.0.1 so the socket address is known. */
  async function serve(env: Record<string, string>) {
    const t = await buildTestApp({ AUTH_MODE: 'prod', ...env })
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    const base = `http://127.0.0.1:${t.app.server!.port}`
    return {
      t,
      base,
      async stop() {
        await t.app.stop(true)
        await t.close()
      },
    }
  }

  test('X-Authenticated-User is accepted from an address in TRUSTED_PROXY_IPS', async () => {
    const server = await serve({ TRUSTED_PROXY_IPS: '127.0.0.1' })
    try {
      const email = freshUser('proxied')
      const res = await fetch(`${server.base}/api/v1/me`, { headers: { 'x-authenticated-user': email } })
      expect(res.status).toBe(200)
      expect(((await res.json()) as { external_id: string }).external_id).toBe(email)
    } finally {
      await server.stop()
    }
  })

  test('X-Authenticated-User from an address not in TRUSTED_PROXY_IPS is 401', async () => {
    const server = await serve({ TRUSTED_PROXY_IPS: '10.9.8.7' })
    try {
      const res = await fetch(`${server.base}/api/v1/me`, { headers: { 'x-authenticated-user': freshUser() } })
      expect(res.status).toBe(401)
      const body = (await res.json()) as { error: { code: string; request_id: string } }
      expect(body.error.code).toBe('unauthenticated')
      expect(body.error.request_id).toBe(res.headers.get('x-request-id')!)
    } finally {
      await server.stop()
    }
  })
})
