/**
 * The foundation's JSON API, driven from outside through app.handle, with the
 * SAME assertions against the embedded libsql database and against PostgreSQL
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). The pg
 * block fails — it never skips — when PostgreSQL cannot be reached.
 */
import { describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { buildTestApp, type TestApp } from '../helpers/app'
import { SessionSummary } from '../../src/modules/sessions/model'
import { buildDialectApp, expectErrorShape, freshUser, PG_URL, useApp, UUID, type Dialect } from './support'

const QUESTION_MAX_CHARS = 50
const ADMIN_EMAIL = 'Boss.Admin@Example.com'
const SUMMARY_KEYS = Object.keys(SessionSummary.properties).sort()

async function createSession(t: TestApp, user: string, question = 'What should we build next?', extra: Record<string, unknown> = {}) {
  const res = await t.json('POST', '/api/v1/sessions', { user, body: { question, ...extra } })
  expect(res.status).toBe(201)
  return res.body as { id: string; [key: string]: unknown }
}

const auditOf = async (t: TestApp, action: string, sessionId: string) => {
  const { auditEvents } = t.deps.db.t
  return t.deps.db.orm
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.sessionId, sessionId)))
}

const sessionRow = async (t: TestApp, id: string) => {
  const { sessions } = t.deps.db.t
  const [row] = await t.deps.db.orm.select().from(sessions).where(eq(sessions.id, id))
  return row
}

for (const dialect of ['sqlite', 'pg'] as Dialect[]) {
  describe(`API on ${dialect}`, () => {
    const app = useApp(dialect, { QUESTION_MAX_CHARS: String(QUESTION_MAX_CHARS), ADMIN_EMAILS: ADMIN_EMAIL })

    test('the app really runs on this dialect, isolated from other suites', async () => {
      const t = app()
      expect(t.deps.db.dialect).toBe(dialect)
      if (dialect === 'pg') {
        const orm = t.deps.db.orm as unknown as { execute(q: unknown): Promise<{ rows: Array<{ schema: string }> }> }
        const { rows } = await orm.execute(sql`select current_schema() as schema`)
        expect(rows[0]!.schema).toMatch(/^t_[0-9a-f]{16}$/)
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

      test('a valid incoming id is echoed, on success and in the error body', async () => {
        const t = app()
        const incoming = 'client-req_0001.trace:abc'
        const ok = await t.call('GET', '/healthz', { headers: { 'x-request-id': incoming } })
        expect(ok.headers.get('x-request-id')).toBe(incoming)
        const error = await t.json('GET', '/api/v1/me', { headers: { 'x-request-id': incoming } })
        expect(error.headers.get('x-request-id')).toBe(incoming)
        expect(error.body.error.request_id).toBe(incoming)
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

    describe('POST /api/v1/sessions', () => {
      test('201 with the summary shape and a Location header', async () => {
        const t = app()
        const res = await t.json('POST', '/api/v1/sessions', { user: freshUser(), body: { question: '  Is the sky blue?  ' } })
        expect(res.status).toBe(201)
        const body = res.body
        expect(Object.keys(body).sort()).toEqual(SUMMARY_KEYS)
        expect(body.id).toMatch(UUID)
        expect(body.question).toBe('Is the sky blue?')
        expect(body.palette_id).toBe('default')
        expect(body.status).toBe('created')
        expect(body.stage).toBeNull()
        expect(body.partial).toBe(false)
        expect(body.tokens).toEqual({ input: 0, output: 0, total: 0 })
        expect(body.cost_usd).toBe(0)
        expect(body.documents).toEqual([])
        expect(body.error).toBeNull()
        expect(new Date(body.created_at).toISOString()).toBe(body.created_at)
        expect(new Date(body.updated_at).toISOString()).toBe(body.updated_at)
        expect(Math.abs(Date.parse(body.created_at) - Date.now())).toBeLessThan(60_000)
        expect(res.headers.get('location')).toBe(`/api/v1/sessions/${body.id}`)
      })

      test('an explicit palette_id is kept', async () => {
        // Palettes must exist now (an unknown one is 422 unknown_palette): an admin makes this one first.
        const palette = { id: 'fast-2', name: 'Fast pair', agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 0 }
        await app().json('POST', '/api/admin/palettes', { user: 'palette-admin@example.com', role: 'admin', body: palette })
        const session = await createSession(app(), freshUser(), 'Which palette?', { palette_id: 'fast-2' })
        expect(session.palette_id).toBe('fast-2')
      })

      test('GET /api/v1/sessions/:id returns the same summary to its owner', async () => {
        const t = app()
        const user = freshUser()
        const created = await createSession(t, user)
        const res = await t.json('GET', `/api/v1/sessions/${created.id}`, { user })
        expect(res.status).toBe(200)
        expect(res.body).toEqual(created)
      })

      test('the row is stored for its owner', async () => {
        const t = app()
        const user = freshUser()
        const me = await t.json('GET', '/api/v1/me', { user })
        const created = await createSession(t, user, 'Stored?')
        const row = await sessionRow(t, created.id)
        expect(row).toBeDefined()
        expect(row!.userId).toBe(me.body.id)
        expect(row!.question).toBe('Stored?')
        expect(row!.deletedAt).toBeNull()
      })
    })

    describe('GET /api/v1/sessions pagination', () => {
      const TOTAL = 30
      let owner = ''
      let created: string[] = []
      /** Creates the 30 sessions once for this block (newest last). */
      const seed = async () => {
        if (created.length) return
        owner = freshUser('pager')
        for (let i = 0; i < TOTAL; i++) created.push((await createSession(app(), owner, `Question number ${i}`)).id)
      }

      test('default limit is 25, newest first, with a next_cursor', async () => {
        await seed()
        const res = await app().json('GET', '/api/v1/sessions', { user: owner })
        expect(res.status).toBe(200)
        expect(Object.keys(res.body).sort()).toEqual(['items', 'limit', 'next_cursor'])
        expect(res.body.limit).toBe(25)
        expect(res.body.items).toHaveLength(25)
        expect(res.body.items.map((item: { id: string }) => item.id)).toEqual([...created].reverse().slice(0, 25))
        expect(typeof res.body.next_cursor).toBe('string')
        for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(SUMMARY_KEYS)
      })

      test('limit=500 is clamped to 200', async () => {
        await seed()
        const res = await app().json('GET', '/api/v1/sessions?limit=500', { user: owner })
        expect(res.status).toBe(200)
        expect(res.body.limit).toBe(200)
        expect(res.body.items).toHaveLength(TOTAL)
        expect(res.body.next_cursor).toBeNull()
      })

      test('limit=200 is kept; limit=1 gives one item', async () => {
        await seed()
        expect((await app().json('GET', '/api/v1/sessions?limit=200', { user: owner })).body.limit).toBe(200)
        const one = await app().json('GET', '/api/v1/sessions?limit=1', { user: owner })
        expect(one.body.limit).toBe(1)
        expect(one.body.items).toHaveLength(1)
        expect(one.body.items[0].id).toBe(created.at(-1))
      })

      for (const limit of ['0', 'abc', '-3']) {
        test(`limit=${limit} is 422`, async () => {
          const res = await app().json('GET', `/api/v1/sessions?limit=${limit}`, { user: freshUser() })
          expectErrorShape(expect, res, 422, 'validation_failed')
        })
      }

      test('the 422 for limit=0 names the "limit" field', async () => {
        const res = await app().json('GET', '/api/v1/sessions?limit=0', { user: freshUser() })
        expect(res.status).toBe(422)
        expect(res.body.error.message).toContain('limit')
      })

      test('the cursor walks every page: all sessions, no duplicates, no gaps, in order', async () => {
        await seed()
        const seen: string[] = []
        let cursor: string | null = null
        let pages = 0
        do {
          const query: string = cursor ? `?limit=7&cursor=${encodeURIComponent(cursor)}` : '?limit=7'
          const res = await app().json('GET', `/api/v1/sessions${query}`, { user: owner })
          expect(res.status).toBe(200)
          expect(res.body.limit).toBe(7)
          expect(res.body.items.length).toBeLessThanOrEqual(7)
          seen.push(...res.body.items.map((item: { id: string }) => item.id))
          cursor = res.body.next_cursor
          pages++
          expect(pages).toBeLessThan(10)
        } while (cursor)
        expect(pages).toBe(Math.ceil(TOTAL / 7))
        expect(new Set(seen).size).toBe(seen.length)
        expect(seen).toEqual([...created].reverse())
      })

      test('a page size that divides the total ends with next_cursor null, not an empty page', async () => {
        await seed()
        const first = await app().json('GET', '/api/v1/sessions?limit=15', { user: owner })
        const second = await app().json('GET', `/api/v1/sessions?limit=15&cursor=${first.body.next_cursor}`, { user: owner })
        expect(second.body.items).toHaveLength(15)
        expect(second.body.next_cursor).toBeNull()
      })

      test("another user's list does not include them", async () => {
        await seed()
        const res = await app().json('GET', '/api/v1/sessions?limit=200', { user: freshUser('other') })
        expect(res.status).toBe(200)
        expect(res.body).toEqual({ items: [], next_cursor: null, limit: 200 })
      })

      test("another user's cursor reveals nothing of the owner's sessions", async () => {
        await seed()
        const first = await app().json('GET', '/api/v1/sessions?limit=5', { user: owner })
        const res = await app().json('GET', `/api/v1/sessions?cursor=${first.body.next_cursor}`, { user: freshUser('other') })
        expect(res.status).toBe(200)
        expect(res.body.items).toEqual([])
      })
    })

    describe('ownership', () => {
      test("bob gets 404 (not 403) for alice's session, on GET and DELETE, with X-Request-Id", async () => {
        const t = app()
        const alice = freshUser('alice')
        const bob = freshUser('bob')
        const session = await createSession(t, alice)
        const read = await t.json('GET', `/api/v1/sessions/${session.id}`, { user: bob })
        expectErrorShape(expect, read, 404, 'not_found')
        expect(read.headers.get('x-request-id')).toBeTruthy()
        const del = await t.json('DELETE', `/api/v1/sessions/${session.id}`, { user: bob })
        expectErrorShape(expect, del, 404, 'not_found')
        expect(del.headers.get('x-request-id')).toBeTruthy()
        // The 404 for someone else's session is indistinguishable from a missing one.
        const missing = await t.json('GET', '/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000', { user: bob })
        expect(read.body.error.message).toBe(missing.body.error.message)
        // And alice still has it.
        expect((await t.json('GET', `/api/v1/sessions/${session.id}`, { user: alice })).status).toBe(200)
        expect((await sessionRow(t, session.id))!.deletedAt).toBeNull()
      })

      test("an admin soft delete is owner-scoped too: admin gets 404 on someone else's session", async () => {
        const t = app()
        const session = await createSession(t, freshUser('alice'))
        const res = await t.json('DELETE', `/api/v1/sessions/${session.id}`, { user: freshUser('adm'), role: 'admin' })
        expectErrorShape(expect, res, 404)
      })
    })

    describe('DELETE /api/v1/sessions/:id', () => {
      test('soft delete: 204 with no body, then 404, absent from the list, kept in the DB', async () => {
        const t = app()
        const user = freshUser()
        const keep = await createSession(t, user, 'Keep me')
        const session = await createSession(t, user, 'Delete me')
        const res = await t.call('DELETE', `/api/v1/sessions/${session.id}`, { user })
        expect(res.status).toBe(204)
        expect(await res.text()).toBe('')
        expect(res.headers.get('x-request-id')).toBeTruthy()

        expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${session.id}`, { user }), 404)
        const list = await t.json('GET', '/api/v1/sessions', { user })
        expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([keep.id])
        // A second delete finds nothing.
        expectErrorShape(expect, await t.json('DELETE', `/api/v1/sessions/${session.id}`, { user }), 404)

        const row = await sessionRow(t, session.id)
        expect(row).toBeDefined()
        expect(row!.deletedAt).toBeInstanceOf(Date)
      })

      test('?hard=true as a member is 403 and the session is untouched', async () => {
        const t = app()
        const user = freshUser()
        const session = await createSession(t, user)
        const res = await t.json('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user })
        expectErrorShape(expect, res, 403, 'forbidden')
        expect((await t.json('GET', `/api/v1/sessions/${session.id}`, { user })).status).toBe(200)
        expect((await sessionRow(t, session.id))!.deletedAt).toBeNull()
      })

      test('?hard=true as admin (X-Role) is 204 and the row is gone from the DB', async () => {
        const t = app()
        const owner = freshUser('owner')
        const session = await createSession(t, owner)
        const res = await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser('adm'), role: 'admin' })
        expect(res.status).toBe(204)
        expect(await sessionRow(t, session.id)).toBeUndefined()
        expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${session.id}`, { user: owner }), 404)
        const [event] = await auditOf(t, 'session.hard_delete', session.id)
        expect(event).toBeDefined()
        expect(event!.role).toBe('admin')
      })

      test('?hard=true as an ADMIN_EMAILS user is 204 and the row is gone', async () => {
        const t = app()
        const session = await createSession(t, freshUser('owner'))
        const res = await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: ADMIN_EMAIL.toLowerCase() })
        expect(res.status).toBe(204)
        expect(await sessionRow(t, session.id)).toBeUndefined()
      })

      test('?hard=true erases an already soft-deleted session', async () => {
        const t = app()
        const owner = freshUser('owner')
        const session = await createSession(t, owner)
        expect((await t.call('DELETE', `/api/v1/sessions/${session.id}`, { user: owner })).status).toBe(204)
        expect((await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser(), role: 'admin' })).status).toBe(204)
        expect(await sessionRow(t, session.id)).toBeUndefined()
      })

      test('?hard=true as admin on a missing session is 404', async () => {
        const res = await app().json('DELETE', '/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000?hard=true', {
          user: freshUser(),
          role: 'admin',
        })
        expectErrorShape(expect, res, 404)
      })

      test('?hard=false is a soft delete', async () => {
        const t = app()
        const user = freshUser()
        const session = await createSession(t, user)
        expect((await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=false`, { user })).status).toBe(204)
        expect((await sessionRow(t, session.id))!.deletedAt).toBeInstanceOf(Date)
      })
    })

    describe('GET /api/v1/me', () => {
      test('returns id, external_id, roles (with user) and permissions', async () => {
        const user = freshUser('me')
        const res = await app().json('GET', '/api/v1/me', { user })
        expect(res.status).toBe(200)
        expect(res.body.id).toMatch(UUID)
        expect(res.body.external_id).toBe(user)
        expect(res.body.roles).toEqual(['user'])
        expect(res.body.permissions).toBeArray()
        expect(res.body.permissions).toContain('me:read')
        expect(res.body.permissions).toContain('sessions:create')
        expect(res.body.permissions).not.toContain('sessions:hard_delete')
        expect(res.body.permissions).not.toContain('audit:read')
        expect([...res.body.permissions].sort()).toEqual(res.body.permissions)
      })

      test('the same person is the same user on every request, whatever the email case', async () => {
        const user = freshUser('same')
        const first = await app().json('GET', '/api/v1/me', { user })
        const second = await app().json('GET', '/api/v1/me', { user: user.toUpperCase() })
        expect(second.body.id).toBe(first.body.id)
        expect(second.body.external_id).toBe(user)
      })

      test('an ADMIN_EMAILS user is bound to admin on first sight (email compared case-insensitively)', async () => {
        const t = app()
        const res = await t.json('GET', '/api/v1/me', { user: ADMIN_EMAIL.toUpperCase() })
        expect(res.status).toBe(200)
        expect(res.body.roles).toContain('user')
        expect(res.body.roles).toContain('admin')
        expect(res.body.permissions).toContain('sessions:hard_delete')
        expect(res.body.permissions).toContain('rbac:manage')
        const { roleBindings } = t.deps.db.t
        const bindings = await t.deps.db.orm.select().from(roleBindings).where(eq(roleBindings.userId, res.body.id))
        expect(bindings.map((binding) => binding.role)).toEqual(['admin'])
        expect(bindings[0]!.createdBy).toBe('ADMIN_EMAILS')
      })

      test('X-Role is honoured in APP_ENV=test (user is always kept)', async () => {
        const t = app()
        const auditor = await t.json('GET', '/api/v1/me', { user: freshUser(), role: 'auditor' })
        expect(auditor.body.roles.sort()).toEqual(['auditor', 'user'])
        expect(auditor.body.permissions).toContain('audit:read')
        expect(auditor.body.permissions).not.toContain('rbac:manage')
        const admin = await t.json('GET', '/api/v1/me', { user: freshUser(), role: 'admin' })
        expect(admin.body.roles).toContain('admin')
        expect(admin.body.permissions).toContain('sessions:hard_delete')
      })

      test('the first sight of a user is audited', async () => {
        const t = app()
        const me = await t.json('GET', '/api/v1/me', { user: freshUser('new') })
        const { auditEvents } = t.deps.db.t
        const events = await t.deps.db.orm
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.action, 'user.created'), eq(auditEvents.actorId, me.body.id)))
        expect(events).toHaveLength(1)
        expect(events[0]!.requestId).toBe(me.headers.get('x-request-id'))
      })
    })

    describe('audit events', () => {
      test('session.create is written with actor, role, target and the request id', async () => {
        const t = app()
        const user = freshUser('audited')
        const me = await t.json('GET', '/api/v1/me', { user })
        const requestId = `create-${crypto.randomUUID()}`
        const res = await t.json('POST', '/api/v1/sessions', {
          user,
          body: { question: 'A confidential question' },
          headers: { 'x-request-id': requestId },
        })
        expect(res.status).toBe(201)
        const events = await auditOf(t, 'session.create', res.body.id)
        expect(events).toHaveLength(1)
        const [event] = events
        expect(event!.actor).toBe(user)
        expect(event!.actorId).toBe(me.body.id)
        expect(event!.role).toBe('user')
        expect(event!.target).toBe(`session:${res.body.id}`)
        expect(event!.requestId).toBe(requestId)
        expect(event!.at).toBeInstanceOf(Date)
        // The question itself never reaches the trail.
        expect(JSON.stringify(event!.metadata ?? {})).not.toContain('confidential')
      })

      test('session.delete is written on soft delete', async () => {
        const t = app()
        const user = freshUser()
        const session = await createSession(t, user)
        const res = await t.call('DELETE', `/api/v1/sessions/${session.id}`, { user })
        expect(res.status).toBe(204)
        const events = await auditOf(t, 'session.delete', session.id)
        expect(events).toHaveLength(1)
        expect(events[0]!.actor).toBe(user)
        expect(events[0]!.requestId).toBe(res.headers.get('x-request-id'))
      })

      test('a refused delete writes no session.delete event', async () => {
        const t = app()
        const session = await createSession(t, freshUser('alice'))
        await t.call('DELETE', `/api/v1/sessions/${session.id}`, { user: freshUser('bob') })
        expect(await auditOf(t, 'session.delete', session.id)).toHaveLength(0)
      })

      test('session.read is recorded (batched; visible after flush)', async () => {
        const t = app()
        const user = freshUser()
        const session = await createSession(t, user)
        const res = await t.call('GET', `/api/v1/sessions/${session.id}`, { user })
        expect(res.status).toBe(200)
        await t.deps.audit.flush()
        const events = await auditOf(t, 'session.read', session.id)
        expect(events).toHaveLength(1)
        expect(events[0]!.actor).toBe(user)
        expect(events[0]!.requestId).toBe(res.headers.get('x-request-id'))
      })

      test("a 404 read of someone else's session records no session.read", async () => {
        const t = app()
        const session = await createSession(t, freshUser('alice'))
        await t.call('GET', `/api/v1/sessions/${session.id}`, { user: freshUser('bob') })
        await t.deps.audit.flush()
        expect(await auditOf(t, 'session.read', session.id)).toHaveLength(0)
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
        await Bun.sleep(5) // onAfterResponse runs after the response is handed back
        const line = t.logs.find((entry) => entry.request_id === 'log-probe-0001' && entry.msg === 'request')
        expect(line).toMatchObject({ method: 'GET', status: 200 })
        expect(typeof line!.duration_ms).toBe('number')
      })

      test('a failed write is a 5xx in the error shape and never logs the question text', async () => {
        const broken = await buildDialectApp(dialect)
        try {
          const user = freshUser()
          expect((await broken.json('GET', '/api/v1/me', { user })).status).toBe(200)
          // Break the database under the app: the sessions table disappears.
          const orm = broken.deps.db.orm as unknown as { run?: (q: unknown) => Promise<unknown>; execute?: (q: unknown) => Promise<unknown> }
          const drop = sql`drop table sessions`
          await (dialect === 'pg' ? orm.execute!(drop) : orm.run!(drop))
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
        devApp = await buildDialectApp(dialect, { APP_ENV: 'development' })
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
}

// Every route's permission, and every route × role against the matrix: tests/integration/route-permissions.test.ts

describe('test harness', () => {
  test('buildTestApp({ DATABASE_URL: postgres }) gives the app a schema of its own', async () => {
    const t = await buildTestApp({ DATABASE_URL: PG_URL })
    try {
      const orm = t.deps.db.orm as unknown as { execute(q: unknown): Promise<{ rows: Array<{ schema: string }> }> }
      const { rows } = await orm.execute(sql`select current_schema() as schema`)
      expect(rows[0]!.schema).not.toBe('public')
      expect(t.config.db.url).toContain('search_path')
    } finally {
      await t.close()
    }
  })
})
