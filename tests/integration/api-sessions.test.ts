/**
 * The session routes and /me through app.handle on the run's dialect (libsql,
 * then PostgreSQL): creating, listing and paging, ownership (another user's
 * session is 404), soft and hard deletes, the caller's identity, and the audit
 * events these write, read back through the audit API.
 */
import { describe, expect, test } from 'bun:test'
import type { TestApp } from '../helpers/app'
import { SessionSummary } from '../../src/modules/sessions/model'
import { auditEvents, DIALECT, expectErrorShape, freshUser, useApp, UUID } from './support'

const QUESTION_MAX_CHARS = 50
const ADMIN_EMAIL = 'Boss.Admin@Example.com'
const SUMMARY_KEYS = Object.keys(SessionSummary.properties).sort()

async function createSession(t: TestApp, user: string, question = 'What should we build next?', extra: Record<string, unknown> = {}) {
  const res = await t.json('POST', '/api/v1/sessions', { user, body: { question, ...extra } })
  expect(res.status).toBe(201)
  return res.body as { id: string; [key: string]: unknown }
}

const auditOf = (t: TestApp, action: string, sessionId: string) => auditEvents(t, { action, target: `session:${sessionId}` })

/** The session's row, deleted or not, as its owner's store holds it; undefined once it is gone. */
const sessionRow = async (t: TestApp, id: string, owner: string) => {
  const me = await t.json('GET', '/api/v1/me', { user: owner })
  return t.deps.stores.sessions.findOwned(id, me.body.id)
}

describe(`session API on ${DIALECT}`, () => {
  const app = useApp({ QUESTION_MAX_CHARS: String(QUESTION_MAX_CHARS), ADMIN_EMAILS: ADMIN_EMAIL })

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
      const row = await sessionRow(t, created.id, user)
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
      expect((await sessionRow(t, session.id, alice))!.deletedAt).toBeNull()
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

      const row = await sessionRow(t, session.id, user)
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
      expect((await sessionRow(t, session.id, user))!.deletedAt).toBeNull()
    })

    test('?hard=true as admin (X-Role) is 204 and the row is gone from the DB', async () => {
      const t = app()
      const owner = freshUser('owner')
      const session = await createSession(t, owner)
      const res = await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser('adm'), role: 'admin' })
      expect(res.status).toBe(204)
      expect(await sessionRow(t, session.id, owner)).toBeUndefined()
      expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${session.id}`, { user: owner }), 404)
      const [event] = await auditOf(t, 'session.hard_delete', session.id)
      expect(event).toBeDefined()
      expect(event!.role).toBe('admin')
    })

    test('?hard=true as an ADMIN_EMAILS user is 204 and the row is gone', async () => {
      const t = app()
      const owner = freshUser('owner')
      const session = await createSession(t, owner)
      const res = await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: ADMIN_EMAIL.toLowerCase() })
      expect(res.status).toBe(204)
      expect(await sessionRow(t, session.id, owner)).toBeUndefined()
    })

    test('?hard=true erases an already soft-deleted session', async () => {
      const t = app()
      const owner = freshUser('owner')
      const session = await createSession(t, owner)
      expect((await t.call('DELETE', `/api/v1/sessions/${session.id}`, { user: owner })).status).toBe(204)
      expect((await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser(), role: 'admin' })).status).toBe(204)
      expect(await sessionRow(t, session.id, owner)).toBeUndefined()
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
      expect((await sessionRow(t, session.id, user))!.deletedAt).toBeInstanceOf(Date)
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
      const listed = await t.deps.stores.identity.listBindings({ user: ADMIN_EMAIL }, null, 200)
      const bindings = listed.filter((binding) => binding.userId === res.body.id)
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
      const events = await auditEvents(t, { action: 'user.created', actor: me.body.id })
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
      expect(event!.requestId).toBe(res.headers.get('x-request-id'))
      expect(event!.metadata).toMatchObject({ client_request_id: requestId })
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
})
