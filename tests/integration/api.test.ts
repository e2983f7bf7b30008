/**
 * The foundation's JSON API, driven from outside through app.handle on the
 * run's dialect (libsql, then PostgreSQL; tests/integration/support.ts):
 * health, request ids, the error shape, the OpenAPI document, request logs and
 * concurrency. Session routes, /me and their audit events: api-sessions.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../helpers/app'
import { SessionSummary } from '../../src/modules/sessions/model'
import { describeOnPostgres, DIALECT, expectErrorShape, freshUser, useApp } from './support'

const QUESTION_MAX_CHARS = 50
const ADMIN_EMAIL = 'Boss.Admin@Example.com'
const SUMMARY_KEYS = Object.keys(SessionSummary.properties).sort()

/** The schema the app's own PostgreSQL connections work in. */
async function currentSchema(t: TestApp): Promise<string> {
  const { handle } = t.deps.db
  if (handle.dialect !== 'pg') throw new Error('currentSchema: the app is not on PostgreSQL')
  const { rows } = await handle.pool.query<{ schema: string }>('select current_schema() as schema')
  return rows[0]!.schema
}

describe(`API on ${DIALECT}`, () => {
  const app = useApp({ QUESTION_MAX_CHARS: String(QUESTION_MAX_CHARS), ADMIN_EMAILS: ADMIN_EMAIL })

  test('the app really runs on this dialect, isolated from other suites', async () => {
    const t = app()
    expect(t.deps.db.dialect).toBe(DIALECT)
    if (DIALECT === 'pg') {
      expect(await currentSchema(t)).toMatch(/^t_[0-9a-f]{16}$/)
    } else {
      expect(t.config.db.url).toStartWith('file:')
    }
  })


  describe('health', () => {
    test('GET /healthz is 200 without identity', async () => {
      const res = await app().json('GET', '/healthz')
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ status: 'ok' })
      expect(res.headers.get('x-request-id')).toBeTruthy()
    })

    test('GET /readyz reports each component with status and latency', async () => {
      const res = await app().json('GET', '/readyz')
      expect(res.status).toBe(200)
      expect(res.body.status).toBe('ok')
      expect(res.body.components).toBeObject()
      expect(res.body.components.db.status).toBe('ok')
      expect(typeof res.body.components.db.latency_ms).toBe('number')
      expect(res.body.components.db.latency_ms).toBeGreaterThanOrEqual(0)
      for (const component of Object.values(res.body.components) as Array<{ status: string; latency_ms: number }>) {
        expect(['ok', 'fail']).toContain(component.status)
        expect(typeof component.latency_ms).toBe('number')
      }
    })
  })

  describe('X-Request-Id', () => {
    test('is generated on every response, success or error, and differs per request', async () => {
      const t = app()
      const user = freshUser()
      const responses = [
        await t.call('GET', '/healthz'),
        await t.call('GET', '/api/v1/me'), // 401
        await t.call('GET', '/no/such/route'), // 404
        await t.call('POST', '/api/v1/sessions', { user, body: { question: 'Why?' } }), // 201
        await t.call('POST', '/api/v1/sessions', { user, body: {} }), // 422
      ]
      const created = (await responses[3]!.clone().json()) as { id: string }
      responses.push(await t.call('DELETE', `/api/v1/sessions/${created.id}`, { user })) // 204
      expect(responses.map((res) => res.status)).toEqual([200, 401, 404, 201, 422, 204])
      const ids = responses.map((res) => res.headers.get('x-request-id'))
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._:-]{8,128}$/)
      expect(new Set(ids).size).toBe(ids.length)
    })

    test('a valid incoming id is echoed (SPEC §4) with the server’s own beside it (SPEC §5), on success and in the error body', async () => {
      const t = app()
      const incoming = 'client-req_0001.trace:abc'
      const ok = await t.call('GET', '/healthz', { headers: { 'x-request-id': incoming } })
      expect(ok.headers.get('x-request-id')).toBe(incoming)
      expect(ok.headers.get('x-server-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      const error = await t.json('GET', '/api/v1/me', { headers: { 'x-request-id': incoming } })
      expect(error.headers.get('x-request-id')).toBe(incoming)
      expect(error.body.error.request_id).toBe(incoming)
      expect(error.headers.get('x-server-request-id')).not.toBe(incoming)
    })

    for (const [label, incoming] of [
      ['containing spaces', 'has spaces in it'],
      ['3 characters', 'abc'],
      ['129 characters', 'a'.repeat(129)],
      ['markup', '<script>alert(1)</script>'],
      ['a header-injection attempt', 'abcdefgh%0d%0aSet-Cookie:x=1'],
    ] as const) {
      test(`an invalid incoming id (${label}) is replaced`, async () => {
        const res = await app().call('GET', '/healthz', { headers: { 'x-request-id': incoming } })
        const id = res.headers.get('x-request-id')
        expect(id).toBeTruthy()
        expect(id).not.toBe(incoming)
        expect(id).toMatch(/^[A-Za-z0-9._:-]{8,128}$/)
      })
    }
  })

  describe('error shape', () => {
    test('401 when no identity is sent', async () => {
      const t = app()
      for (const [method, path] of [
        ['GET', '/api/v1/me'],
        ['GET', '/api/v1/sessions'],
        ['POST', '/api/v1/sessions'],
        ['GET', '/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000'],
        ['DELETE', '/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000'],
      ] as const) {
        const res = await t.json(method, path, method === 'POST' ? { body: { question: 'q' } } : {})
        expectErrorShape(expect, res, 401, 'unauthenticated')
      }
    })

    test('401 when X-User-Id is not an email address', async () => {
      const res = await app().json('GET', '/api/v1/me', { user: 'not an email' })
      expectErrorShape(expect, res, 401)
    })

    test('404 for an unknown route', async () => {
      expectErrorShape(expect, await app().json('GET', '/api/v1/no-such-thing', { user: freshUser() }), 404)
      expectErrorShape(expect, await app().json('GET', '/api/v1/nope'), 404)
    })

    test('404 for a session id that does not exist', async () => {
      const res = await app().json('GET', '/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000', { user: freshUser() })
      expectErrorShape(expect, res, 404, 'not_found')
    })

    test('400 for a malformed JSON body', async () => {
      const res = await app().json('POST', '/api/v1/sessions', {
        user: freshUser(),
        body: '{"question": "unterminated',
        headers: { 'content-type': 'application/json' },
      })
      expectErrorShape(expect, res, 400)
    })

    test('422 when the question is missing', async () => {
      const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { palette_id: 'default' } })
      expectErrorShape(expect, res, 422)
      expect(res.body.error.message).toContain('question')
    })

    test('422 when the question is not a string', async () => {
      const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question: 42 } })
      expectErrorShape(expect, res, 422)
    })

    test('422 when the question is blank', async () => {
      for (const question of ['', '   ', '\n\t ']) {
        const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question } })
        expectErrorShape(expect, res, 422)
      }
    })

    test(`QUESTION_MAX_CHARS (${QUESTION_MAX_CHARS}): exactly at the limit is accepted`, async () => {
      const question = 'q'.repeat(QUESTION_MAX_CHARS)
      const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question } })
      expect(res.status).toBe(201)
      expect(res.body.question).toBe(question)
    })

    test('QUESTION_MAX_CHARS: one over the limit is 422 question_too_long, naming the limit', async () => {
      const res = await app().json('POST', '/api/v1/sessions', {
        user: freshUser(),
        body: { question: 'q'.repeat(QUESTION_MAX_CHARS + 1) },
      })
      expectErrorShape(expect, res, 422, 'question_too_long')
      expect(res.body.error.message).toContain(String(QUESTION_MAX_CHARS))
    })

    test('QUESTION_MAX_CHARS counts the trimmed question', async () => {
      const question = `  ${'q'.repeat(QUESTION_MAX_CHARS)}  `
      const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question } })
      expect(res.status).toBe(201)
      expect(res.body.question).toBe(question.trim())
    })

    test('a huge question is refused with 422, not 500', async () => {
      const res = await app().json('POST', '/api/v1/sessions', { user: freshUser(), body: { question: 'q'.repeat(250_000) } })
      expectErrorShape(expect, res, 422)
    })

    test('422 for a palette id that is not a slug', async () => {
      const res = await app().json('POST', '/api/v1/sessions', {
        user: freshUser(),
        body: { question: 'Why?', palette_id: 'Bad Palette!' },
      })
      expectErrorShape(expect, res, 422)
    })

    test('400 invalid_cursor for a cursor the API did not issue', async () => {
      const t = app()
      const user = freshUser()
      for (const cursor of ['zzz', Buffer.from("' or 1=1 --").toString('base64url')]) {
        const res = await t.json('GET', `/api/v1/sessions?cursor=${encodeURIComponent(cursor)}`, { user })
        expectErrorShape(expect, res, 400, 'invalid_cursor')
      }
    })

    test('bad input never yields a 500', async () => {
      const t = app()
      const user = freshUser()
      const probes: Array<[string, string, Parameters<TestApp['call']>[2]]> = [
        ['GET', '/api/v1/sessions?limit=NaN', { user }],
        ['GET', '/api/v1/sessions?limit=-5', { user }],
        ['GET', '/api/v1/sessions?limit=1e400', { user }],
        ['GET', `/api/v1/sessions?cursor=${'A'.repeat(300)}`, { user }],
        ['GET', `/api/v1/sessions?cursor=${Buffer.from('-'.repeat(36)).toString('base64url')}`, { user }],
        ['GET', `/api/v1/sessions/${'x'.repeat(65)}`, { user }],
        ['GET', '/api/v1/sessions/%00%27%22', { user }],
        ['DELETE', '/api/v1/sessions/abc?hard=perhaps', { user }],
        ['POST', '/api/v1/sessions', { user, body: '[]', headers: { 'content-type': 'application/json' } }],
        ['POST', '/api/v1/sessions', { user, body: 'null', headers: { 'content-type': 'application/json' } }],
        ['POST', '/api/v1/sessions', { user, body: '{"question":"x"}', headers: { 'content-type': 'text/plain' } }],
        ['POST', '/api/v1/sessions', { user, body: { question: ['a'] } }],
        ['POST', '/api/v1/sessions', { user, body: { question: 'nul \u0000 inside' } }],
      ]
      const serverErrors: string[] = []
      for (const [method, path, options] of probes) {
        const res = await t.json(method, path, options)
        if (res.status >= 500) serverErrors.push(`${method} ${path.slice(0, 60)} → ${res.status}`)
        else if (res.status >= 400) expectErrorShape(expect, res, res.status)
      }
      expect(serverErrors).toEqual([])
    })
  })


  describe('OpenAPI document', () => {
    const doc = async () => {
      const res = await app().json('GET', '/swagger/json')
      expect(res.status).toBe(200)
      return res.body as { openapi: string; paths: Record<string, Record<string, any>> }
    }
    /** The collection path, tolerating a trailing slash so its own test pins that bug alone. */
    const collection = (paths: Record<string, Record<string, any>>) => paths['/api/v1/sessions'] ?? paths['/api/v1/sessions/']

    test('is an OpenAPI 3 document', async () => {
      expect((await doc()).openapi).toMatch(/^3\./)
    })

    test('lists /api/v1/sessions and /api/v1/sessions/{id} (exact paths)', async () => {
      const paths = Object.keys((await doc()).paths)
      expect(paths).toContain('/api/v1/sessions')
      expect(paths).toContain('/api/v1/sessions/{id}')
      expect(paths).toContain('/api/v1/me')
    })

    test('POST /api/v1/sessions documents its JSON body and its 201 summary', async () => {
      const post = collection((await doc()).paths)?.post
      expect(post).toBeDefined()
      const body = post.requestBody.content['application/json'].schema
      expect(body.required).toContain('question')
      expect(body.properties.question.type).toBe('string')
      const created = post.responses['201'].content['application/json'].schema
      expect(Object.keys(created.properties).sort()).toEqual(SUMMARY_KEYS)
    })

    test('GET /api/v1/sessions documents limit, cursor and the page shape', async () => {
      const get = collection((await doc()).paths)?.get
      expect(get).toBeDefined()
      const names = (get.parameters ?? []).map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)
      expect(names).toContain('query:limit')
      expect(names).toContain('query:cursor')
      const page = get.responses['200'].content['application/json'].schema
      expect(Object.keys(page.properties).sort()).toEqual(['items', 'limit', 'next_cursor'])
    })

    test('/api/v1/sessions/{id} documents GET (with its response schema) and DELETE', async () => {
      const item = (await doc()).paths['/api/v1/sessions/{id}']!
      expect(item.get.parameters.map((parameter: { name: string; in: string }) => `${parameter.in}:${parameter.name}`)).toContain('path:id')
      const summary = item.get.responses['200'].content['application/json'].schema
      expect(Object.keys(summary.properties).sort()).toEqual(SUMMARY_KEYS)
      expect(item.delete).toBeDefined()
    })

    test('pages and login routes are not in the API document', async () => {
      const paths = Object.keys((await doc()).paths)
      for (const hidden of ['/sessions', '/login', '/auth/dev-login', '/']) expect(paths).not.toContain(hidden)
    })
  })

  describe('logs', () => {
    test('every request is logged with its request id, route and status', async () => {
      const t = app()
      const res = await t.call('GET', '/api/v1/sessions', { user: freshUser(), headers: { 'x-request-id': 'log-probe-0001' } })
      expect(res.status).toBe(200)
      // onAfterResponse runs after the response is handed back: wait for the line (bounded), not a fixed 5 ms.
      const find = () => t.logs.find((entry) => entry.request_id === res.headers.get('x-server-request-id') && entry.client_request_id === 'log-probe-0001' && entry.msg === 'request')
      for (let waited = 0; !find() && waited < 1000; waited += 5) await Bun.sleep(5)
      const line = find()
      expect(line).toMatchObject({ method: 'GET', status: 200 })
      expect(typeof line!.duration_ms).toBe('number')
    })

    test('a failed write is a 5xx in the error shape and never logs the question text', async () => {
      const broken = await buildTestApp()
      try {
        const user = freshUser()
        expect((await broken.json('GET', '/api/v1/me', { user })).status).toBe(200)
        // Break the database under the app: the sessions table disappears.
        const { handle } = broken.deps.db
        if (handle.dialect === 'pg') await handle.pool.query('drop table sessions')
        else await handle.orm.run(sql`drop table sessions`)
        const question = 'TOP-SECRET-QUESTION-TEXT about the merger'
        const res = await broken.json('POST', '/api/v1/sessions', { user, body: { question } })
        expect(res.status).toBeGreaterThanOrEqual(500)
        expectErrorShape(expect, res, res.status)
        expect(res.body.error.message).not.toContain('TOP-SECRET')
        expect(broken.logs.some((entry) => entry.level === 'error')).toBe(true)
        const leaking = broken.logs.filter((entry) => JSON.stringify(entry).includes('TOP-SECRET'))
        expect(leaking).toEqual([])
      } finally {
        await broken.close()
      }
    })
  })

  describe('X-Role outside APP_ENV=test', () => {
    let devApp: TestApp | undefined
    test('is ignored in development', async () => {
      devApp = await buildTestApp({ APP_ENV: 'development' })
      try {
        const res = await devApp.json('GET', '/api/v1/me', { user: freshUser(), role: 'admin' })
        expect(res.status).toBe(200)
        expect(res.body.roles).toEqual(['user'])
        expect(res.body.permissions).not.toContain('sessions:hard_delete')
      } finally {
        await devApp.close()
      }
    })
  })

  describe('concurrency', () => {
    test(
      'concurrent first requests of one new user resolve to one user',
      async () => {
        const t = app()
        const user = freshUser('racer')
        const started = performance.now()
        const responses = await Promise.all(Array.from({ length: 4 }, () => t.json('GET', '/api/v1/me', { user })))
        expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200])
        expect(new Set(responses.map((res) => res.body.id)).size).toBe(1)
        expect(performance.now() - started).toBeLessThan(1500)
      },
      { timeout: 15_000 },
    )

    test(
      'concurrent session creation by different users all succeed, promptly',
      async () => {
        const t = app()
        const users = Array.from({ length: 4 }, (_, i) => freshUser(`conc${i}`))
        // Users known beforehand, so only the session writes race.
        for (const user of users) await t.json('GET', '/api/v1/me', { user })
        const started = performance.now()
        const responses = await Promise.all(users.map((user) => t.json('POST', '/api/v1/sessions', { user, body: { question: 'Race?' } })))
        expect(responses.map((res) => res.status)).toEqual([201, 201, 201, 201])
        expect(performance.now() - started).toBeLessThan(1500)
      },
      { timeout: 15_000 },
    )
  })
})

// Every route's permission, and every route × role against the matrix: tests/integration/route-permissions.test.ts

describeOnPostgres('test harness', () => {
  test("buildTestApp(env, { dialect: 'pg' }) gives the app a schema of its own", async () => {
    const t = await buildTestApp({}, { dialect: 'pg' })
    try {
      expect(await currentSchema(t)).not.toBe('public')
      expect(t.config.db.url).toContain('search_path')
    } finally {
      await t.close()
    }
  })
})
