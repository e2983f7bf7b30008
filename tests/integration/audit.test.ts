/**
 * The audit trail (SPEC §4 GET /api/admin/audit, §5 Audit and Retention):
 * filtered, newest first, paginated by the one helper; reading is audited
 * itself; the trail is append-only; batched writes; audit purge and
 * AUDIT_RETENTION_DAYS. The CSV export and the page are in audit-export.test.ts.
 * Runs on the run's dialect (libsql, then PostgreSQL; never skipped).
 */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'
import { ADMIN, DAY, EVENT_KEYS, eventsOf, MINUTE, seed, sqlNullMetadata, uniqueTag } from './audit-support'
import { DIALECT, expectErrorShape, freshUser, useApp, UUID } from './support'

describe(`audit trail on ${DIALECT}`, () => {
  const app = useApp({ ADMIN_EMAILS: ADMIN })
  const get = (path: string, user = ADMIN, role?: string) => app().json('GET', path, { user, role })

  describe('GET /api/admin/audit', () => {
    test('auditors and admins read it; members and readonly get 403 in the error shape', async () => {
      expect((await get('/api/admin/audit', freshUser('auditor'), 'auditor')).status).toBe(200)
      expect((await get('/api/admin/audit')).status).toBe(200)
      expectErrorShape(expect, await get('/api/admin/audit', freshUser('member')), 403, 'forbidden')
      expectErrorShape(expect, await get('/api/admin/audit', freshUser('ro'), 'readonly'), 403, 'forbidden')
      expectErrorShape(expect, await app().json('GET', '/api/admin/audit'), 401)
    })

    test('items carry exactly the documented fields, newest first', async () => {
      const t = app()
      const action = uniqueTag('order')
      const now = Date.now()
      const ids = await seed(t, [
        { action, at: new Date(now - 3 * MINUTE), actor: 'a@example.com', metadata: { n: 1 } },
        { action, at: new Date(now - 2 * MINUTE), actor: 'b@example.com', sessionId: 's1', jobId: 'j1', requestId: 'req-order-2', ip: '10.0.0.2', role: 'user', target: 'session:s1', actorId: 'u2' },
        { action, at: new Date(now - 1 * MINUTE), actor: 'c@example.com' },
      ])
      const res = await get(`/api/admin/audit?action=${action}`)
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual(['items', 'limit', 'next_cursor'])
      expect(res.body.items.map((item: any) => item.id)).toEqual([...ids].reverse())
      for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(EVENT_KEYS)
      expect(res.body.items[1]).toEqual({
        id: ids[1],
        at: new Date(now - 2 * MINUTE).toISOString(),
        actor: 'b@example.com',
        actor_id: 'u2',
        role: 'user',
        action,
        target: 'session:s1',
        session_id: 's1',
        job_id: 'j1',
        request_id: 'req-order-2',
        ip: '10.0.0.2',
        metadata: null,
      })
      expect(res.body.items[2].metadata).toEqual({ n: 1 })
    })

    test('filters: actor (part of the email, or an id), action and target (exact or prefix*), request_id, since/until', async () => {
      const t = app()
      const family = uniqueTag('filters')
      const now = Date.now()
      await seed(t, [
        { action: `${family}.create`, at: new Date(now - 50 * MINUTE), actor: 'Alice.Smith@example.com', actorId: 'actor-alice', target: 'user:1', requestId: 'req-f-1' },
        { action: `${family}.delete`, at: new Date(now - 40 * MINUTE), actor: 'bob@example.com', target: 'user:2', requestId: 'req-f-2' },
        { action: `${family}.create`, at: new Date(now - 30 * MINUTE), actor: 'bob@example.com', target: 'session:9', requestId: 'req-f-3' },
        { action: `${family}_create`, at: new Date(now - 20 * MINUTE), actor: 'carol@example.com', target: 'user_3' },
      ])
      const actions = async (query: string) =>
        (await get(`/api/admin/audit?${query}`)).body.items.map((item: any) => `${item.action.slice(family.length)} ${item.actor}`)
      expect(await actions(`action=${family}.create`)).toEqual(['.create bob@example.com', '.create Alice.Smith@example.com'])
      // A prefix ending in *; its `_` and `.` are literal, so `${family}_create` is not a `${family}.` event.
      expect(await actions(`action=${family}.*`)).toHaveLength(3)
      expect(await actions(`action=${family}*`)).toHaveLength(4)
      expect(await actions(`action=${family}`)).toEqual([])
      expect(await actions(`action=${family}*&actor=ALICE`)).toEqual(['.create Alice.Smith@example.com'])
      expect(await actions(`action=${family}*&actor=bob@`)).toEqual(['.create bob@example.com', '.delete bob@example.com'])
      expect(await actions(`action=${family}*&actor=%25`)).toEqual([])
      expect(await actions(`action=${family}*&target=user:2`)).toEqual(['.delete bob@example.com'])
      expect(await actions(`action=${family}*&target=user:*`)).toEqual(['.delete bob@example.com', '.create Alice.Smith@example.com'])
      expect(await actions(`action=${family}*&target=user_*`)).toEqual(['_create carol@example.com'])
      expect(await actions(`action=${family}*&request_id=req-f-3`)).toEqual(['.create bob@example.com'])
      const since = new Date(now - 40 * MINUTE).toISOString()
      const until = new Date(now - 20 * MINUTE).toISOString()
      // since is inclusive, until exclusive.
      expect(await actions(`action=${family}*&since=${since}&until=${until}`)).toEqual(['.create bob@example.com', '.delete bob@example.com'])
      expect(await actions(`action=${family}*&since=${since}`)).toHaveLength(3)
      expect(await actions(`action=${family}*&until=${until}`)).toHaveLength(3)
      // An actor id (a UUID) matches actor_id exactly.
      const me = await t.json('GET', '/api/v1/me', { user: ADMIN })
      const own = (await get(`/api/admin/audit?actor=${me.body.id}&action=user.created`)).body.items
      expect(own.length).toBeGreaterThan(0)
      for (const item of own) expect(item.actor_id).toBe(me.body.id)
    })

    test('since and until accept dates and date-times (UTC unless an offset is given)', async () => {
      const t = app()
      const action = uniqueTag('instants')
      await seed(t, [{ action, at: new Date('2031-03-04T10:00:00Z') }])
      const count = async (query: string) => {
        const res = await get(`/api/admin/audit?action=${action}&${query}`)
        expect(res.status).toBe(200)
        return res.body.items.length
      }
      expect(await count('since=2031-03-04')).toBe(1)
      expect(await count('since=2031-03-05')).toBe(0)
      expect(await count('since=2031-03-04T10:00')).toBe(1)
      expect(await count('since=2031-03-04T10:00:00.001Z')).toBe(0)
      expect(await count(`since=${encodeURIComponent('2031-03-04T11:30:00+02:00')}`)).toBe(1)
      expect(await count(`until=${encodeURIComponent('2031-03-04T12:00:01+02:00')}`)).toBe(1)
      expect(await count('until=2031-03-04T10:00:00Z')).toBe(0)
    })

    test('an invalid since or until is 422 naming the field', async () => {
      for (const [query, field] of [
        ['since=yesterday', 'since'],
        ['since=2025-13-01', 'since'],
        ['since=2025-02-30', 'since'],
        ['since=2025-01-01T25:00', 'since'],
        ['until=1700000000', 'until'],
        [`until=${encodeURIComponent("2025-01-01' or 1=1 --")}`, 'until'],
        ['since=2025-02-01&until=2025-01-01', 'until'],
        ['since=2025-01-01&until=2025-01-01', 'until'],
      ] as const) {
        for (const format of ['', '&format=csv']) {
          const res = await get(`/api/admin/audit?${query}${format}`)
          expectErrorShape(expect, res, 422, 'validation_failed')
          expect(res.body.error.message).toContain(`"${field}"`)
          expect(res.body.error.details[0].field).toBe(field)
        }
      }
      expectErrorShape(expect, await get('/api/admin/audit?format=xml'), 422)
    })

    test('pagination: default 25, limit=500 → 200, limit=2 walks every event once, bad limit/cursor refused', async () => {
      const t = app()
      const action = uniqueTag('pages')
      const now = Date.now()
      const ids = await seed(t, Array.from({ length: 5 }, (_, i) => ({ action, at: new Date(now - (10 - i) * MINUTE) })))
      expect((await get('/api/admin/audit')).body.limit).toBe(25)
      const clamped = await get(`/api/admin/audit?limit=500&action=${action}`)
      expect(clamped.body.limit).toBe(200)
      expect(clamped.body.items).toHaveLength(5)
      expect(clamped.body.next_cursor).toBeNull()
      const seen: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const res: { body: any } = await get(`/api/admin/audit?action=${action}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        expect(res.body.limit).toBe(2)
        seen.push(...res.body.items.map((item: any) => item.id))
        cursor = res.body.next_cursor
      } while (cursor && ++pages < 10)
      expect(seen).toEqual([...ids].reverse())
      for (const limit of ['0', '-1', 'abc']) expectErrorShape(expect, await get(`/api/admin/audit?limit=${limit}`), 422)
      expectErrorShape(expect, await get('/api/admin/audit?cursor=bogus'), 400, 'invalid_cursor')
    })

    test('reading the trail is itself audited (audit.view, with the filters and the request id)', async () => {
      const t = app()
      const auditor = freshUser('reader')
      const res = await t.json('GET', '/api/admin/audit?action=login&limit=3', { user: auditor, role: 'auditor' })
      expect(res.status).toBe(200)
      const events = await eventsOf(t, 'audit.view', res.headers.get('x-request-id')!)
      expect(events).toHaveLength(1)
      expect(events[0]!).toMatchObject({ actor: auditor, role: 'auditor' })
      expect(events[0]!.metadata).toEqual({ filters: { action: 'login' }, returned: res.body.items.length })
    })

    test('the trail is append-only: no route writes to it', async () => {
      const t = app()
      const writers = t.app.routes.filter((route) => route.path.startsWith('/api/admin/audit') && route.method !== 'GET')
      expect(writers.map((route) => `${route.method} ${route.path}`)).toEqual([])
      const [event] = (await get('/api/admin/audit?limit=1')).body.items
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'])
        for (const path of ['/api/admin/audit', `/api/admin/audit/${event.id}`]) {
          const res = await t.json(method, path, { user: ADMIN, body: method === 'DELETE' ? undefined : { action: 'forged' } })
          expectErrorShape(expect, res, 404)
        }
      expect((await get(`/api/admin/audit?action=forged`)).body.items).toEqual([])
    })
  })

  test('batched events (recordLater) are stored exactly: quotes, unicode, nested metadata, nulls, redacted keys', async () => {
    const t = app()
    const action = uniqueTag('batched')
    const metadata = { note: `it's "quoted" \\ and ünïcödé ✓`, nested: { list: [1, 'two', null], deep: { ok: true } }, api_key: 'sk-secret' }
    const at = Date.now()
    t.deps.audit.recordLater({ action, actor: "o'brien@example.com", target: 'session:x', requestId: 'req-batched-1', metadata })
    t.deps.audit.recordLater({ action, actor: null, role: null, target: null, metadata: undefined })
    await t.deps.audit.flush()
    const rows = (await t.deps.stores.audit.list({ action: { equals: action }, limit: 100 })).reverse()
    expect(rows).toHaveLength(2)
    expect(rows[0]!.actor).toBe("o'brien@example.com")
    expect(rows[0]!.requestId).toBe('req-batched-1')
    expect(rows[0]!.metadata).toEqual({ ...metadata, api_key: '[redacted]' })
    expect(rows[0]!.id).toMatch(UUID)
    expect(Math.abs(rows[0]!.at.getTime() - at)).toBeLessThan(5000)
    expect(rows[1]).toMatchObject({ actor: null, role: null, target: null, sessionId: null, jobId: null, metadata: null })
    // SQL NULL, not the JSON value null (the driver reads both as null).
    expect(await sqlNullMetadata(t, action)).toEqual([rows[1]!.id])
  })

  describe('retention: audit purge', () => {
    // An app of its own: the purge removes every old event in it.
    const own = useApp()

    test('deletes events older than the cut-off (in batches), keeps the rest, and leaves one audit.purge event', async () => {
      const t = own()
      const action = uniqueTag('retained')
      const now = Date.now()
      const old = await seed(t, Array.from({ length: 5 }, (_, i) => ({ action, at: new Date(now - (400 + i) * DAY) })))
      const edge = await seed(t, [{ action, at: new Date(now - 364 * DAY) }])
      const recent = await seed(t, [{ action, at: new Date(now - MINUTE) }])
      const cutoff = new Date(now - 365 * DAY)
      expect(await t.deps.audit.purge(cutoff, { batchSize: 2 })).toBe(5)
      const left = await t.deps.stores.audit.list({ action: { prefix: action }, limit: 1000 })
      expect(left.map((row) => row.id).sort()).toEqual([...edge, ...recent].sort())
      for (const id of old) expect(left.map((row) => row.id)).not.toContain(id)
      const purgeEvents = () => t.deps.stores.audit.list({ action: { equals: 'audit.purge' }, limit: 100 })
      const purges = await purgeEvents()
      expect(purges).toHaveLength(1)
      expect(purges[0]!.id).toMatch(UUID)
      expect(purges[0]!.metadata).toEqual({ older_than: cutoff.toISOString(), deleted: 5 })
      // Nothing left to purge: no deletion, no event.
      expect(await t.deps.audit.purge(cutoff)).toBe(0)
      expect(await purgeEvents()).toHaveLength(1)
    })

    test('refuses an invalid date', async () => {
      expect(own().deps.audit.purge(new Date('nope'))).rejects.toThrow('olderThan')
    })
  })
})

describe('AUDIT_RETENTION_DAYS', () => {
  test('defaults to 365 days, takes a whole number of days (0 keeps events forever)', () => {
    expect(loadConfig({ APP_ENV: 'test' }).retention.auditDays).toBe(365)
    expect(loadConfig({ APP_ENV: 'test', AUDIT_RETENTION_DAYS: '30' }).retention.auditDays).toBe(30)
    expect(loadConfig({ APP_ENV: 'test', AUDIT_RETENTION_DAYS: '0' }).retention.auditDays).toBe(0)
  })

  test('a bad value stops start-up with an error naming the variable', () => {
    for (const value of ['abc', '-1', '1.5', '36501']) {
      let error: unknown
      try {
        loadConfig({ APP_ENV: 'test', AUDIT_RETENTION_DAYS: value })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).variable).toBe('AUDIT_RETENTION_DAYS')
    }
  })
})
