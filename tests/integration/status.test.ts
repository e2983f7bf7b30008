/**
 * The status page through the real app, on the database of the pass (libsql,
 * then PostgreSQL): the report's contract shape before any probe, a probe that
 * one instance of two takes (the lease), 24-hour and 90-day uptime with a
 * 90-day bar from stored samples, the page's accessible SVG bars; incidents
 * and maintenance windows — admin-only writes, forward-only states, each
 * update timestamped and audited, announced maintenance shown before it
 * starts — through the API and through the page's forms.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { leasedPeriodic } from '../../src/modules/status/periodic'
import { buildTestApp, type TestApp } from '../helpers/app'
import { auditOf } from '../helpers/audit-trail'
import { expectErrorShape, freshUser } from './support'

const ADMIN = 'status-admin@example.com'
const DAY_MS = 86_400_000
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ ADMIN_EMAILS: ADMIN })
})
afterAll(async () => {
  await t?.close()
})

const status = (user = freshUser()) => t.json('GET', '/api/v1/status', { user })
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

describe('GET /api/v1/status', () => {
  test('before any probe: six components, unknown, 90 empty days each; signed-out callers get 401', async () => {
    const res = await status()
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('unknown')
    expect(res.body.components.map((c: { name: string }) => c.name)).toEqual(['api', 'database', 'queue', 'worker', 'storage', 'llm'])
    for (const component of res.body.components) {
      expect(component).toMatchObject({ status: 'unknown', uptime_24h: null, uptime_90d: null, checked_at: null })
      expect(component.days).toHaveLength(90)
      expect(component.days.at(-1)).toEqual({ date: utcDay(Date.now()), uptime: null })
    }
    expect(res.body.incidents).toEqual([])
    expect(res.body.maintenance).toEqual([])
    expectErrorShape(expect, await t.json('GET', '/api/v1/status'), 401)
  })

  test('a probe stores one sample per component; a second instance finds the lease taken and skips', async () => {
    const sampler = t.deps.background.sampler!
    expect(await sampler.tick()).toBe(true)
    const other = leasedPeriodic(t.deps.stores.audit.outbox, { name: 'status-sampler', everyMs: 60_000, run: async () => expect.unreachable() }, () => undefined)
    expect(await other.tick()).toBe(false)
    const res = await status()
    expect(res.body.status).toBe('ok')
    for (const component of res.body.components) {
      expect(component.status).toBe('ok')
      expect(component.uptime_24h).toBe(100)
      expect(component.latency_ms).toBeNumber()
      expect(component.days.at(-1).uptime).toBe(100)
    }
    // A second probe in the same slot (another instance, same minute) adds nothing.
    const before = await t.deps.stores.status.uptimeSince(new Date(Date.now() - DAY_MS))
    expect(await sampler.tick()).toBe(true)
    expect(await t.deps.stores.status.uptimeSince(new Date(Date.now() - DAY_MS))).toEqual(before)
  })

  test('uptime over 24 h and 90 days, and each day of the bar, from stored samples', async () => {
    const now = Date.now()
    // Ten days ago the worker was down half of four probes; two days ago degraded (still up) once.
    const samples = [
      ...[0, 1, 2, 3].map((i) => ({ component: 'worker', at: new Date(now - 10 * DAY_MS + i * 60_000), status: (i < 2 ? 'fail' : 'ok') as 'fail' | 'ok', latencyMs: 1 })),
      { component: 'worker', at: new Date(now - 2 * DAY_MS), status: 'degraded' as const, latencyMs: 1 },
      // Within the last day: one failure of three samples.
      { component: 'worker', at: new Date(now - 3_600_000), status: 'fail' as const, latencyMs: 1 },
      { component: 'worker', at: new Date(now - 7_200_000), status: 'ok' as const, latencyMs: 1 },
    ]
    await t.deps.stores.transaction((tx) => tx.status.recordSamples(samples))
    const worker = (await status()).body.components.find((c: { name: string }) => c.name === 'worker')
    const total = await t.deps.stores.status.uptimeSince(new Date(now - DAY_MS))
    const recent = total.find((row) => row.component === 'worker')!
    expect(worker.uptime_24h).toBeCloseTo((recent.up / recent.samples) * 100, 2)
    expect(worker.uptime_24h).toBeLessThan(100)
    const day = (ms: number) => worker.days.find((d: { date: string }) => d.date === utcDay(ms))
    expect(day(now - 10 * DAY_MS).uptime).toBe(50)
    expect(day(now - 2 * DAY_MS).uptime).toBe(100)
    expect(day(now - 30 * DAY_MS).uptime).toBeNull()
    expect(worker.uptime_90d).toBeGreaterThan(50)
    expect(worker.uptime_90d).toBeLessThan(100)
  })

  test('/status renders for a member: the overall state, one labelled SVG bar of 90 days per component, a table behind each', async () => {
    const res = await t.call('GET', '/status', { user: freshUser() })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<h1>Status</h1>')
    expect(html.match(/<svg class="uptime-bar"[^>]*role="img"/g)).toHaveLength(6)
    const worker = html.slice(html.indexOf('data-component="worker"'), html.indexOf('data-component="storage"'))
    expect(worker.match(/<rect /g)).toHaveLength(90)
    expect(worker).toContain('Worker: uptime per day over the last 90 days')
    expect(worker).toContain('50.00\u00a0% up')
    expect(worker).toContain('<table class="uptime-table">')
    expect(html).toContain('UTC')
  })
})

describe('incidents and maintenance', () => {
  const post = (body: Record<string, unknown>, user = ADMIN) => t.json('POST', '/api/admin/incidents', { user, body })
  const patch = (id: string, body: Record<string, unknown>, user = ADMIN) => t.json('PATCH', `/api/admin/incidents/${id}`, { user, body })

  test('members cannot post or update (403) nor open /admin/incidents', async () => {
    const member = freshUser()
    expectErrorShape(expect, await post({ title: 'x', kind: 'incident', impact: 'minor', components: [], message: 'x' }, member), 403)
    expectErrorShape(expect, await patch(crypto.randomUUID(), { message: 'x' }, member), 403)
    expect((await t.call('GET', '/admin/incidents', { user: member })).status).toBe(403)
  })

  test('an incident moves investigating → identified → monitoring → resolved, each update timestamped and audited; never back', async () => {
    const created = await post({ title: 'Councils stall', kind: 'incident', impact: 'major', components: ['worker', 'queue'], message: 'Jobs are not starting.' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ title: 'Councils stall', kind: 'incident', impact: 'major', components: ['queue', 'worker'], status: 'investigating', resolved_at: null })
    expect(created.body.updates).toEqual([{ status: 'investigating', message: 'Jobs are not starting.', at: expect.any(String) }])
    const [createdEvent] = await auditOf(t, created.headers.get('x-request-id')!, ADMIN)
    expect(createdEvent).toMatchObject({ action: 'incident.create', target: `incident:${created.body.id}`, actor: ADMIN })

    const id = created.body.id
    expect((await patch(id, { status: 'identified', message: 'A worker lost its Redis connection.' })).body.status).toBe('identified')
    const back = await patch(id, { status: 'investigating', message: 'Hmm.' })
    expectErrorShape(expect, back, 409, 'invalid_transition')
    expectErrorShape(expect, await patch(id, { status: 'monitoring' }), 422, 'validation_failed')
    expectErrorShape(expect, await patch(id, { components: ['database', 'cache'] }), 422)
    expectErrorShape(expect, await patch(crypto.randomUUID(), { message: 'x' }), 404)
    await patch(id, { status: 'monitoring', message: 'Restarted; watching.' })
    const resolved = await patch(id, { status: 'resolved', message: 'All caught up.' })
    expect(resolved.status).toBe(200)
    expect(resolved.body.resolved_at).toEqual(expect.any(String))
    expect(resolved.body.updates.map((u: { status: string }) => u.status)).toEqual(['investigating', 'identified', 'monitoring', 'resolved'])
    const times = resolved.body.updates.map((u: { at: string }) => Date.parse(u.at))
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    const [updateEvent] = await auditOf(t, resolved.headers.get('x-request-id')!, ADMIN)
    expect(updateEvent).toMatchObject({ action: 'incident.update', target: `incident:${id}`, metadata: expect.objectContaining({ from: 'monitoring', status: 'resolved' }) })

    // Resolved this week: listed among the incidents, no longer open.
    const report = (await status()).body
    expect(report.incidents.find((i: { id: string }) => i.id === id)).toMatchObject({ status: 'resolved' })
  })

  test('the contract’s shape: updates[] posted in order (the last one is the state), backwards refused', async () => {
    const created = await post({
      title: 'Slow answers',
      kind: 'incident',
      impact: 'minor',
      components: ['llm'],
      starts_at: new Date(Date.now() - 600_000).toISOString(),
      updates: [
        { status: 'investigating', message: 'Answers are slow.' },
        { status: 'identified', message: 'The provider is rate limiting us.' },
      ],
    })
    expect(created.status).toBe(201)
    expect(created.body.status).toBe('identified')
    expect(created.body.updates.map((u: { status: string; message: string }) => `${u.status}: ${u.message}`)).toEqual([
      'investigating: Answers are slow.',
      'identified: The provider is rate limiting us.',
    ])
    const more = await patch(created.body.id, { updates: [{ status: 'monitoring', message: 'Limits raised.' }, { status: 'resolved', message: 'Back to normal.' }] })
    expect(more.body).toMatchObject({ status: 'resolved', resolved_at: expect.any(String) })
    expect(more.body.updates).toHaveLength(4)
    const backwards = await post({ title: 'x', kind: 'incident', impact: 'minor', components: [], updates: [{ status: 'monitoring', message: 'a' }, { status: 'identified', message: 'b' }] })
    expectErrorShape(expect, backwards, 409, 'invalid_transition')
    expectErrorShape(expect, await post({ title: 'x', kind: 'incident', impact: 'minor', components: [] }), 422, 'validation_failed')
  })

  test('the banner says what an admin declared: an open major incident outranks green probes; minor reads as degraded; resolved, it is gone', async () => {
    const own = await buildTestApp({ ADMIN_EMAILS: ADMIN })
    try {
      const banner = async () => {
        const html = await (await own.call('GET', '/status', { user: freshUser() })).text()
        return html.slice(html.indexOf('id="status-overall"'), html.indexOf('</strong>', html.indexOf('id="status-overall"')))
      }
      expect(await banner()).not.toContain('incident in progress')
      const minor = await own.json('POST', '/api/admin/incidents', { user: ADMIN, body: { title: 'Slow drafts', kind: 'incident', impact: 'minor', components: ['api'], message: 'Drafts take longer.' } })
      expect(minor.status).toBe(201)
      expect(await banner()).toContain('Minor incident in progress')
      expect(await banner()).toContain('health-degraded')
      const major = await own.json('POST', '/api/admin/incidents', { user: ADMIN, body: { title: 'Councils start late', kind: 'incident', impact: 'major', components: ['worker'], message: 'Jobs wait.' } })
      expect(await banner()).toContain('Major incident in progress')
      expect(await banner()).toContain('health-fail')
      for (const id of [minor.body.id, major.body.id])
        expect((await own.json('PATCH', `/api/admin/incidents/${id}`, { user: ADMIN, body: { status: 'resolved', message: 'Fixed.' } })).status).toBe(200)
      expect(await banner()).not.toContain('incident in progress')
    } finally {
      await own.close()
    }
  })

  test('a maintenance window announced for tomorrow shows on the status page before it starts, and goes once completed', async () => {
    const starts = new Date(Date.now() + DAY_MS).toISOString()
    const ends = new Date(Date.now() + DAY_MS + 3_600_000).toISOString()
    const created = await post({ title: 'Database upgrade', kind: 'maintenance', impact: 'minor', components: ['database'], starts_at: starts, ends_at: ends, message: 'PostgreSQL 17.' })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ status: 'scheduled', starts_at: starts, ends_at: ends })
    expect((await status()).body.maintenance.map((m: { id: string }) => m.id)).toContain(created.body.id)
    const page = await (await t.call('GET', '/status', { user: freshUser() })).text()
    expect(page).toContain('Scheduled maintenance')
    expect(page).toContain('Database upgrade')
    expectErrorShape(expect, await post({ title: 'Bad', kind: 'maintenance', impact: 'minor', components: [], starts_at: ends, ends_at: starts, message: 'x' }), 422)
    expectErrorShape(expect, await post({ title: 'Bad', kind: 'maintenance', impact: 'minor', components: [], status: 'investigating', message: 'x' }), 422)
    await patch(created.body.id, { status: 'completed', message: 'Done early.' })
    expect((await status()).body.maintenance.map((m: { id: string }) => m.id)).not.toContain(created.body.id)
  })

  test('the page form posts an incident (303), and a refused one comes back with what was typed', async () => {
    const form = new URLSearchParams({ title: 'Slow uploads', kind: 'incident', impact: 'minor', message: 'Uploads take a minute.' })
    form.append('components', 'storage')
    const posted = await t.call('POST', '/admin/incidents', { user: ADMIN, body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(posted.status).toBe(303)
    expect(posted.headers.get('location')).toBe('/admin/incidents')
    const listed = await t.json('GET', '/api/admin/incidents', { user: ADMIN })
    expect(listed.body.items[0]).toMatchObject({ title: 'Slow uploads', components: ['storage'] })

    const refused = await t.call('POST', '/admin/incidents', {
      user: ADMIN,
      body: new URLSearchParams({ title: '', kind: 'incident', impact: 'minor', message: 'Kept message «here»' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' },
    })
    expect(refused.status).toBe(422)
    const panel = await refused.text()
    expect(panel).toContain('id="incidents-panel"')
    expect(panel).toContain('write a title')
    expect(panel).toContain('Kept message «here»')

    const page = await (await t.call('GET', '/admin/incidents', { user: ADMIN })).text()
    expect(page).toContain('Slow uploads')
    expect(page).toContain('Post update')
  })
})
