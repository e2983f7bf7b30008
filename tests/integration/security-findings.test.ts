/**
 * Regression tests of the outside security test's ten findings (issue 14), one
 * describe per finding, numbered as in the issue. Each drives the app as the
 * tester did — through app.handle, or a real server where the socket matters
 * (a trusted proxy's address, loopback, Bun's own error page) — and failed on
 * the main branch the finding was made against. docs/security-review.md refers
 * to these tests by file and name: keep the names stable.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Elysia, t as schema } from 'elysia'
import { SignJWT, type JWTPayload } from 'jose'
import { csrfTokenFor } from '../../plugins/auth/cookie'
import { errors } from '../../plugins/errors'
import { logging } from '../../plugins/logging'
import { createLogger } from '../../plugins/logging/logger'
import { serveMetrics } from '../../plugins/metrics'
import { serveOptions } from '../../src/app'
import { buildTestApp, type TestApp } from '../helpers/app'
import { COOKIE_NAME, form, FORM } from './auth-support'
import { auditEvents, expectErrorShape, freshUser, useApp, userIdOf } from './support'

const JWT_SECRET = 'f'.repeat(48)
const SESSION_SECRET = 's'.repeat(40)
const PRODUCTION = { APP_ENV: 'production', AUTH_MODE: 'prod', JWT_SECRET, SESSION_SECRET }
const ADMIN = { user: 'findings-admin@example.com', role: 'admin' }
const METRICS_TOKEN = 'm'.repeat(32)

/** A correctly signed HS256 token with exactly these claims (any types: the test plays the attacker). */
const signed = (claims: Record<string, unknown>) =>
  new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET))
const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await signed(claims)}` })

/** Logs in through POST /auth/dev-login; the cookie pair and the CSRF token its pages carry. */
async function devLogin(t: TestApp, email: string) {
  const res = await t.call('POST', '/auth/dev-login', { body: form({ email }), headers: FORM })
  const cookie = res.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE_NAME}=`))!.split(';')[0]!
  const csrf = csrfTokenFor(t.config.auth.sessionSecret, decodeURIComponent(cookie.slice(COOKIE_NAME.length + 1)))
  return { res, cookie, csrf }
}

/** A sign-in cookie is checked against revocations by its issue time in ms: the next one is issued a moment later. */
const nextMillisecond = () => Bun.sleep(3)

/** Serves a test app on 127.0.0.1 with the server's own Bun.serve options; stops it and closes the app. */
async function serve(env: Record<string, string>) {
  const t = await buildTestApp(env)
  t.app.listen({ port: 0, hostname: '127.0.0.1', ...serveOptions(t.config, t.deps.logger) })
  return {
    t,
    base: `http://127.0.0.1:${t.app.server!.port}`,
    async stop() {
      await t.app.stop(true)
      await t.close()
    },
  }
}

describe('finding 1: the dev login parses Origin safely', () => {
  const app = useApp()

  for (const origin of ['null', '::::', 'http://[::1'])
    test(`finding 1: POST /auth/dev-login with Origin "${origin}" is 403 csrf_failed, not 500, and sets no cookie`, async () => {
      const res = await app().call('POST', '/auth/dev-login', { body: form({ email: freshUser('origin') }), headers: { ...FORM, origin } })
      const body = await res.json()
      expectErrorShape(expect, { status: res.status, body, headers: res.headers }, 403, 'csrf_failed')
      expect(res.headers.getSetCookie()).toEqual([])
    })

  test('finding 1: an Origin of this site (its own host, or PUBLIC_URL’s) still logs in', async () => {
    const t = app()
    for (const origin of ['http://localhost', t.config.publicUrl]) {
      const res = await t.call('POST', '/auth/dev-login', { body: form({ email: freshUser('same') }), headers: { ...FORM, origin } })
      expect(res.status).toBe(303)
    }
  })
})

describe('finding 2: no open redirect after login', () => {
  const app = useApp()
  const OFF_SITE = ['/\\evil.example', '/\t/evil.example', '/\\/evil.example', '/\n/evil.example', '/\\\\evil.example/x']

  test('finding 2: next=/\\evil.example and /<TAB>/evil.example are refused in Location (303 to /sessions)', async () => {
    for (const next of OFF_SITE) {
      const res = await app().call('POST', '/auth/dev-login', { body: form({ email: freshUser('next'), next }), headers: FORM })
      expect({ next, status: res.status, location: res.headers.get('location') }).toEqual({ next, status: 303, location: '/sessions' })
    }
  })

  test('finding 2: the htmx login sends no off-site target in HX-Redirect', async () => {
    for (const next of OFF_SITE) {
      const res = await app().call('POST', '/auth/dev-login', { body: form({ email: freshUser('hx'), next }), headers: { ...FORM, 'hx-request': 'true' } })
      expect({ next, redirect: res.headers.get('hx-redirect') }).toEqual({ next, redirect: '/sessions' })
    }
  })

  test('finding 2: GET /login?next=/%5Cevil.example does not put the target into the form', async () => {
    const html = await (await app().call('GET', '/login?next=/%5Cevil.example', { headers: { accept: 'text/html' } })).text()
    expect(html).not.toContain('evil.example')
    expect(html).toContain('name="next" value="/sessions"')
  })

  test('finding 2: a path of this site keeps its query and hash', async () => {
    const res = await app().call('POST', '/auth/dev-login', { body: form({ email: freshUser('keep'), next: '/sessions/new?from=mail#top' }), headers: FORM })
    expect(res.headers.get('location')).toBe('/sessions/new?from=mail#top')
  })
})

describe('finding 3: asset names are looked up safely and no Bun.file failure escapes', () => {
  const app = useApp()
  const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty']

  test('finding 3: GET /assets/constructor, __proto__, toString answer 404 in the error shape, not 500', async () => {
    for (const name of NAMES) expectErrorShape(expect, await app().json('GET', `/assets/${name}`), 404, 'not_found')
  })

  test('finding 3: GET /swagger/assets/__proto__ and constructor answer 404 in the error shape', async () => {
    for (const name of NAMES) expectErrorShape(expect, await app().json('GET', `/swagger/assets/${name}`), 404, 'not_found')
    // The real files still come.
    expect((await app().call('GET', '/assets/app.css')).status).toBe(200)
    expect((await app().call('GET', '/swagger/assets/swagger-ui.css')).status).toBe(200)
  })

  test('finding 3: a production server answers /swagger/assets/__proto__ with 404 JSON and security headers, never Bun’s error page', async () => {
    const server = await serve(PRODUCTION)
    try {
      for (const path of ['/swagger/assets/__proto__', '/assets/constructor', '/swagger/assets/toString']) {
        const res = await fetch(`${server.base}${path}`)
        const text = await res.text()
        expect({ path, status: res.status }).toEqual({ path, status: 404 })
        expect(res.headers.get('content-type')).toContain('application/json')
        expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
        expect(text.length).toBeLessThan(1000)
        expect(text).not.toContain('node_modules')
        expect(JSON.parse(text).error.code).toBe('not_found')
      }
      await Bun.sleep(10)
      // The access log says what the client got.
      const lines = server.t.logs.filter((line) => line.msg === 'request' && line.route === '/swagger/assets/:name')
      expect(lines.map((line) => line.status)).toEqual([404, 404])
    } finally {
      await server.stop()
    }
  })

  test('finding 3: in production Bun’s development error page is off and a failure outside the app answers the error shape', async () => {
    const t = await buildTestApp(PRODUCTION)
    try {
      const options = serveOptions(t.config, t.deps.logger)
      expect(options.development).toBe(false)
      const res = options.error(new Error('ENOENT: /srv/app/node_modules/secret/path'))
      const body = await res.json()
      expectErrorShape(expect, { status: res.status, body, headers: res.headers }, 500, 'internal_error')
      expect(JSON.stringify(body)).not.toContain('node_modules')
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
      expect(res.headers.get('strict-transport-security')).toContain('max-age=')
    } finally {
      await t.close()
    }
  })
})

describe('finding 4: odd JWT claims are refused cleanly', () => {
  const app = useApp({ AUTH_MODE: 'prod', JWT_SECRET, JWT_ROLE_MAP: 'Council.Admin=admin' })

  test('finding 4: a signed JWT whose sub is a number, or empty, with no email is 401, not 500', async () => {
    for (const sub of [12345, '', null, { id: 1 }]) {
      const res = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub }) })
      expectErrorShape(expect, res, 401, 'unauthenticated')
    }
  })

  test('finding 4: roles ["constructor"] (and other Object.prototype names) grant nothing and leak no internals', async () => {
    const res = await app().call('GET', '/api/v1/me', {
      headers: await bearer({ sub: `odd-${crypto.randomUUID()}`, email: freshUser('proto'), email_verified: true, roles: ['constructor', '__proto__', 'toString', 'hasOwnProperty'] }),
    })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(text).not.toContain('native code')
    const me = JSON.parse(text)
    for (const role of me.roles) expect(typeof role).toBe('string')
    // Exactly a plain member's permissions.
    const plain = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub: `plain-${crypto.randomUUID()}` }) })
    expect(me.permissions).toEqual(plain.body.permissions)
  })
})

describe('finding 5: a response that fails its own schema is a server fault', () => {
  function build() {
    const lines: Array<Record<string, unknown>> = []
    const logger = createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) })
    const app = new Elysia()
      .use(logging({ logger }))
      .use(errors({ logger }))
      // A route whose answer breaks its own contract: a string where the schema says number.
      .get('/api/v1/broken', () => ({ count: 'TOP-SECRET user answer' }) as unknown as { count: number }, {
        response: schema.Object({ count: schema.Number() }),
      })
    return { app, lines }
  }

  test('finding 5: it answers 500 internal_error without detail, not 422 validation_failed', async () => {
    const { app } = build()
    const res = await app.handle(new Request('http://localhost/api/v1/broken'))
    const body = await res.json()
    expectErrorShape(expect, { status: res.status, body, headers: res.headers }, 500, 'internal_error')
    expect(body.error.details).toBeUndefined()
    expect(JSON.stringify(body)).not.toContain('TOP-SECRET')
  })

  test('finding 5: it is logged as an error, without the values the route answered with', async () => {
    const { app, lines } = build()
    const res = await app.handle(new Request('http://localhost/api/v1/broken'))
    await Bun.sleep(5)
    const logged = lines.find((line) => line.msg === 'response failed its schema')
    expect(logged).toMatchObject({ level: 'error', request_id: res.headers.get('x-request-id'), route: '/api/v1/broken' })
    expect(JSON.stringify(lines)).not.toContain('TOP-SECRET')
  })
})

describe('finding 6: sign-ins are revoked on the server', () => {
  const app = useApp()

  test('finding 6: after logout the old session cookie no longer signs anyone in', async () => {
    const t = app()
    const { cookie, csrf } = await devLogin(t, freshUser('logout'))
    expect((await t.call('GET', '/api/v1/me', { headers: { cookie } })).status).toBe(200)
    const out = await t.call('POST', '/auth/logout', { headers: { ...FORM, cookie }, body: form({ _csrf: csrf }) })
    expect(out.status).toBe(303)
    // The browser forgets the cookie; a copy of it (stolen, or another tab) no longer works.
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie } }), 401)
    expectErrorShape(expect, await t.json('POST', '/api/v1/sessions', { headers: { cookie, 'x-csrf-token': csrf }, body: { question: 'Still me?' } }), 401)
  })

  test('finding 6: a new login after logout works', async () => {
    const t = app()
    const email = freshUser('again')
    const first = await devLogin(t, email)
    await t.call('POST', '/auth/logout', { headers: { ...FORM, cookie: first.cookie }, body: form({ _csrf: first.csrf }) })
    await nextMillisecond()
    const second = await devLogin(t, email)
    expect((await t.json('GET', '/api/v1/me', { headers: { cookie: second.cookie } })).body.email).toBe(email)
  })

  test('finding 6: a role granted or removed ends the person’s sign-in cookies', async () => {
    const t = app()
    const email = freshUser('promoted')
    const before = await devLogin(t, email)
    const granted = await t.json('POST', '/api/admin/role-bindings', { ...ADMIN, body: { email, role: 'auditor' } })
    expect(granted.status).toBe(201)
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie: before.cookie } }), 401)

    await nextMillisecond()
    const during = await devLogin(t, email)
    expect((await t.json('GET', '/api/v1/me', { headers: { cookie: during.cookie } })).body.roles).toContain('auditor')
    expect((await t.call('DELETE', `/api/admin/role-bindings/${granted.body.id}`, ADMIN)).status).toBe(204)
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie: during.cookie } }), 401)
  })

  test('finding 6: erasure ends the erased person’s sign-in cookies', async () => {
    const t = app()
    const email = freshUser('erased')
    const { cookie } = await devLogin(t, email)
    const userId = await userIdOf(t, email)
    expect((await t.call('DELETE', `/api/admin/users/${userId}`, ADMIN)).status).toBe(200)
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie } }), 401)
  })
})

describe('finding 7: browser writes need the CSRF token whatever signed them in', () => {
  let server: Awaited<ReturnType<typeof serve>>
  beforeAll(async () => {
    server = await serve({ AUTH_MODE: 'prod', TRUSTED_PROXY_IPS: '127.0.0.1' })
  })
  afterAll(async () => {
    await server.stop()
  })

  /** What an authenticating proxy forwards for a browser: its own session cookie, and who the person is. */
  const proxied = (email: string, headers: Record<string, string> = {}) => ({ 'x-authenticated-user': email, cookie: 'proxy_session=abc123', ...headers })
  const createSession = (headers: Record<string, string>) =>
    fetch(`${server.base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ question: 'Forged?' }) })

  /** The token a page of the app gives the person (the hidden _csrf field of its forms). */
  const pageToken = async (email: string) => {
    const html = await (await fetch(`${server.base}/sessions`, { headers: proxied(email) })).text()
    return /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  }

  test('finding 7: a proxy-authenticated browser POST without the CSRF token is 403 csrf_failed and creates nothing', async () => {
    const email = freshUser('proxy')
    const res = await createSession(proxied(email))
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('csrf_failed')
    const list = (await (await fetch(`${server.base}/api/v1/sessions`, { headers: { 'x-authenticated-user': email } })).json()) as { items: unknown[] }
    expect(list.items).toEqual([])
  })

  test('finding 7: with the token its pages carry, the same POST from this site is 201', async () => {
    const email = freshUser('proxy-ok')
    const token = await pageToken(email)
    expect(token).toBeTruthy()
    expect((await createSession(proxied(email, { 'x-csrf-token': token!, 'sec-fetch-site': 'same-origin' }))).status).toBe(201)
    // Another person's token does not do.
    const other = await pageToken(freshUser('proxy-other'))
    expect((await createSession(proxied(email, { 'x-csrf-token': other! }))).status).toBe(403)
  })

  test('finding 7: a cross-site Origin or Sec-Fetch-Site is refused even with a valid token', async () => {
    const email = freshUser('proxy-xsite')
    const token = (await pageToken(email))!
    const foreign: Array<Record<string, string>> = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]
    for (const header of foreign) {
      const res = await createSession(proxied(email, { 'x-csrf-token': token, ...header }))
      expect({ header, status: res.status }).toEqual({ header, status: 403 })
    }
  })

  test('finding 7: a script through the proxy (no cookie, no Origin) needs no token', async () => {
    expect((await createSession({ 'x-authenticated-user': freshUser('proxy-script') })).status).toBe(201)
  })

  test('finding 7: the app’s own cookie session is refused from another site even with its token', async () => {
    const dev = await buildTestApp()
    try {
      const { cookie, csrf } = await devLogin(dev, freshUser('cookie-xsite'))
      const post = (headers: Record<string, string>) => dev.json('POST', '/api/v1/sessions', { headers: { cookie, 'x-csrf-token': csrf, ...headers }, body: { question: 'Forged?' } })
      expectErrorShape(expect, await post({ origin: 'https://evil.example' }), 403, 'csrf_failed')
      expectErrorShape(expect, await post({ 'sec-fetch-site': 'cross-site' }), 403, 'csrf_failed')
      expect((await post({ origin: 'http://localhost' })).status).toBe(201)
    } finally {
      await dev.close()
    }
  })
})

describe('finding 8: JWT email and roles are trusted only as configured', () => {
  const BOSS = 'findings-boss@example.com'

  describe('by default', () => {
    const app = useApp({ AUTH_MODE: 'prod', JWT_SECRET, ADMIN_EMAILS: BOSS })

    test('finding 8: an unverified email claim does not make its bearer an ADMIN_EMAILS admin', async () => {
      const sub = `forger-${crypto.randomUUID()}`
      const me = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub, email: BOSS }) })
      expect(me.status).toBe(200)
      expect(me.body.roles).toEqual(['user'])
      expect(me.body.email).toBe(`jwt:${sub}`)
    })

    test('finding 8: a verified email claim is the person’s email (ADMIN_EMAILS applies)', async () => {
      const me = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub: `boss-${crypto.randomUUID()}`, email: BOSS.toUpperCase(), email_verified: true }) })
      expect(me.body.email).toBe(BOSS)
      expect(me.body.roles).toContain('admin')
    })

    test('finding 8: a role bound by email does not reach an account that only claimed that email', async () => {
      const victim = freshUser('victim')
      const forger = await bearer({ sub: `forger-${crypto.randomUUID()}`, email: victim })
      expect((await app().json('GET', '/api/v1/me', { headers: forger })).status).toBe(200)
      expect((await app().json('POST', '/api/admin/role-bindings', { headers: await bearer({ sub: `boss-${crypto.randomUUID()}`, email: BOSS, email_verified: true }), body: { email: victim, role: 'auditor' } })).status).toBe(201)
      expect((await app().json('GET', '/api/v1/me', { headers: forger })).body.roles).toEqual(['user'])
    })

    test('finding 8: roles ["admin"] without JWT_ROLE_MAP grants nothing', async () => {
      const me = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub: `roles-${crypto.randomUUID()}`, roles: ['admin', 'auditor', 'ADMIN_AGENT'] }) })
      expect(me.body.roles).toEqual(['user'])
      expect(me.body.permissions).not.toContain('sessions:hard_delete')
    })
  })

  describe('when configured', () => {
    const app = useApp({ AUTH_MODE: 'prod', JWT_SECRET, ADMIN_EMAILS: BOSS, JWT_TRUST_UNVERIFIED_EMAIL: 'true', JWT_PASS_UNMAPPED_ROLES: 'true' })

    test('finding 8: JWT_TRUST_UNVERIFIED_EMAIL and JWT_PASS_UNMAPPED_ROLES restore the trusting behaviour explicitly', async () => {
      const email = freshUser('trusted')
      const me = await app().json('GET', '/api/v1/me', { headers: await bearer({ sub: `t-${crypto.randomUUID()}`, preferred_username: email, roles: ['auditor', 'not a role!'] }) })
      expect(me.body.email).toBe(email)
      expect(me.body.roles).toEqual(['user', 'auditor'])
    })
  })
})

describe('finding 9: /metrics in production needs METRICS_TOKEN or a separate listener', () => {
  test('finding 9: without METRICS_TOKEN, production refuses /metrics on the app’s port even from loopback', async () => {
    const server = await serve(PRODUCTION)
    try {
      const res = await fetch(`${server.base}/metrics`)
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: { code: string; message: string } }).error.message).toContain('METRICS_TOKEN')
    } finally {
      await server.stop()
    }
  })

  test('finding 9: with METRICS_TOKEN, production serves /metrics to the bearer of the token only', async () => {
    const server = await serve({ ...PRODUCTION, METRICS_TOKEN })
    try {
      expect((await fetch(`${server.base}/metrics`)).status).toBe(401)
      const res = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('http_requests_total')
    } finally {
      await server.stop()
    }
  })

  test('finding 9: a separate metrics listener (METRICS_PORT) still answers loopback without a token', async () => {
    const t = await buildTestApp(PRODUCTION)
    const listener = serveMetrics({ metrics: t.deps.metrics, port: 0, hostname: '127.0.0.1', token: null, production: true, trustedIps: [] })
    try {
      expect((await fetch(`http://127.0.0.1:${listener.port}/metrics`)).status).toBe(200)
    } finally {
      await listener.stop(true)
      await t.close()
    }
  })
})

describe('finding 10: a client’s X-Request-Id is kept beside the server’s own', () => {
  const app = useApp()

  test('finding 10: an audit event records the server’s request id, with the client’s as client_request_id', async () => {
    const t = app()
    const planted = `victim-request-${crypto.randomUUID().slice(0, 8)}`
    const user = freshUser('planter')
    const res = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Whose request is this?' }, headers: { 'x-request-id': planted } })
    expect(res.status).toBe(201)
    const own = res.headers.get('x-request-id')!
    expect(own).not.toBe(planted)
    expect(res.headers.get('x-client-request-id')).toBe(planted)
    await t.deps.audit.flush()
    expect(await auditEvents(t, { request_id: planted })).toEqual([])
    const [event] = await auditEvents(t, { request_id: own, action: 'session.create' })
    expect(event).toMatchObject({ actor: user, requestId: own })
    expect(event!.metadata).toMatchObject({ client_request_id: planted })
  })

  test('finding 10: the log line carries both ids; an error body quotes the server’s', async () => {
    const t = app()
    const planted = `client-trace-${crypto.randomUUID().slice(0, 8)}`
    const res = await t.json('GET', '/api/v1/me', { headers: { 'x-request-id': planted } })
    expectErrorShape(expect, res, 401)
    expect(res.body.error.request_id).not.toBe(planted)
    await Bun.sleep(5)
    expect(t.logs.find((line) => line.msg === 'request' && line.client_request_id === planted)).toMatchObject({ request_id: res.headers.get('x-request-id') })
  })
})
