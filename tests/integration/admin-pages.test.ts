/**
 * The operators' pages beside the dashboard, on the run's dialect:
 * - /api/admin/jobs and /admin/jobs: everyone's queued, running and failed jobs,
 *   metadata only (no input, output or question); filtered by status (422 for
 *   an unknown one); admins cancel anyone's job (audited job.cancel, 409 when it
 *   has ended), auditors read only, members are refused.
 * - /admin/limits: admins see and set per-user and per-role budgets through the
 *   budgets admin service (audited limits.set); refusals keep the form's input.
 */
import { describe, expect, test } from 'bun:test'
import { newId } from '../../db/client'
import type { JobRow } from '../../db/schema'
import type { TestApp } from '../helpers/app'
import { auditEvents, expectErrorShape, freshUser, useApp, userIdOf } from './support'

const admin = { user: 'pages-admin@example.com', role: 'admin' }
const auditor = { user: 'pages-auditor@example.com', role: 'auditor' }
const HTMX = { 'hx-request': 'true' }
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const SECRET = 'SECRET-QUESTION-never-shown'

async function insertJob(t: TestApp, userId: string, status: string, fields: Partial<JobRow> = {}): Promise<string> {
  const id = newId()
  const now = new Date()
  await t.deps.stores.jobs.insert({
    id,
    kind: 'agent',
    userId,
    sessionId: null,
    status,
    stage: status === 'running' ? 'agent' : null,
    progress: status === 'running' ? 40 : 0,
    requestId: `req-${id}`,
    role: 'ADMIN_AGENT',
    idempotencyKey: null,
    input: { input: SECRET },
    output: status === 'failed' ? { answer: SECRET } : null,
    error: status === 'failed' ? `HTTP 503 ${'x'.repeat(300)}` : null,
    attempts: 1,
    cancelRequested: false,
    createdAt: now,
    startedAt: status === 'queued' ? null : now,
    finishedAt: status === 'failed' || status === 'succeeded' ? now : null,
    heartbeatAt: null,
    ...fields,
  })
  return id
}

describe('admin jobs', () => {
  const app = useApp()
  let ids: Record<string, string> | undefined
  let owner = ''
  const seed = async () => {
    if (ids) return ids
    const t = app()
    owner = freshUser('job-owner')
    const userId = await userIdOf(t, owner)
    ids = {}
    for (const status of ['queued', 'running', 'failed', 'succeeded', 'cancelled']) ids[status] = await insertJob(t, userId, status)
    return ids
  }

  test("GET /api/admin/jobs: everyone's queued, running and failed jobs, newest first, metadata only", async () => {
    const seeded = await seed()
    const res = await app().json('GET', '/api/admin/jobs?limit=200', auditor)
    expect(res.status).toBe(200)
    const mine = res.body.items.filter((job: { email: string }) => job.email === owner)
    expect(mine.map((job: { id: string }) => job.id)).toEqual([seeded.failed, seeded.running, seeded.queued])
    expect(Object.keys(mine[0]).sort()).toEqual(
      ['attempts', 'cancel_requested', 'created_at', 'email', 'error', 'finished_at', 'heartbeat_at', 'id', 'kind', 'progress', 'request_id', 'role', 'session_id', 'stage', 'started_at', 'status', 'user_id'].sort(),
    )
    expect(mine[0].error).toHaveLength(201)
    expect(JSON.stringify(res.body)).not.toContain(SECRET)
    const failed = await app().json('GET', '/api/admin/jobs?status=failed', auditor)
    expect(failed.body.items.every((job: { status: string }) => job.status === 'failed')).toBe(true)
    expect(failed.body.items.map((job: { id: string }) => job.id)).toContain(seeded.failed)
    const two = await app().json('GET', '/api/admin/jobs?status=queued,running', auditor)
    expect(new Set(two.body.items.map((job: { status: string }) => job.status))).toEqual(new Set(['queued', 'running']))
  })

  test('an unknown status is a 422 naming the field; members are refused', async () => {
    for (const status of ['succeeded', 'bogus', 'queued,nope']) {
      const res = await app().json('GET', `/api/admin/jobs?status=${status}`, admin)
      expectErrorShape(expect, res, 422, 'validation_failed')
      expect(res.body.error.message).toContain('"status"')
    }
    const member = { user: freshUser('member') }
    expect((await app().json('GET', '/api/admin/jobs', member)).status).toBe(403)
    expect((await app().call('GET', '/admin/jobs', member)).status).toBe(403)
  })

  test("admins cancel anyone's job (audited with the owner); auditors cannot; an ended job is 409", async () => {
    const t = app()
    const userId = await userIdOf(t, freshUser('cancelled-owner'))
    const queued = await insertJob(t, userId, 'queued')
    const running = await insertJob(t, userId, 'running')
    expectErrorShape(expect, await t.json('POST', `/api/admin/jobs/${queued}/cancel`, auditor), 403, 'forbidden')
    const res = await t.json('POST', `/api/admin/jobs/${queued}/cancel`, admin)
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ id: queued, status: 'cancelled', cancel_requested: true })
    expect((await t.deps.stores.jobs.find(queued))!.status).toBe('cancelled')
    const [event] = await auditEvents(t, { action: 'job.cancel', request_id: res.headers.get('x-request-id')! })
    expect(event).toMatchObject({ actor: admin.user, target: `job:${queued}`, jobId: queued, metadata: { by_admin: true, owner_id: userId } })
    // A running job is asked to stop; its runner sees the flag.
    expect((await t.json('POST', `/api/admin/jobs/${running}/cancel`, admin)).body).toEqual({ id: running, status: 'running', cancel_requested: true })
    expectErrorShape(expect, await t.json('POST', `/api/admin/jobs/${queued}/cancel`, admin), 409, 'job_finished')
    expectErrorShape(expect, await t.json('POST', `/api/admin/jobs/${newId()}/cancel`, admin), 404, 'not_found')
  })

  test('the page: status tabs, short ids, no content; cancel buttons for admins only, and an htmx cancel answers the panel', async () => {
    const seeded = await seed()
    const t = app()
    const asAuditor = await (await t.call('GET', '/admin/jobs', auditor)).text()
    expect(asAuditor).toContain('<h1>Jobs</h1>')
    expect(asAuditor).toContain(`data-job-id="${seeded.running}"`)
    expect(asAuditor).not.toContain(`data-job-id="${seeded.succeeded}"`)
    expect(asAuditor).toContain(`data-copy="${seeded.running}"`)
    expect(asAuditor).not.toContain(SECRET)
    expect(asAuditor).not.toContain('/cancel')
    expect(asAuditor).toContain('Read only.')
    const asAdmin = await (await t.call('GET', '/admin/jobs', admin)).text()
    expect(asAdmin).toContain(`hx-post="/admin/jobs/${seeded.queued}/cancel"`)
    const failedTab = await (await t.call('GET', '/admin/jobs?status=failed', { ...auditor, headers: HTMX })).text()
    expect(failedTab).toStartWith('<section id="admin-jobs-panel">')
    expect(failedTab).toContain(`data-job-id="${seeded.failed}"`)
    expect(failedTab).not.toContain(`data-job-id="${seeded.queued}"`)
    const cancelled = await t.call('POST', `/admin/jobs/${seeded.queued}/cancel`, { ...admin, headers: { ...HTMX, ...FORM }, body: '' })
    expect(cancelled.status).toBe(200)
    expect(await cancelled.text()).toContain(`Cancelled job ${seeded.queued}.`)
    const again = await t.call('POST', `/admin/jobs/${seeded.queued}/cancel`, { ...admin, headers: { ...HTMX, ...FORM }, body: '' })
    expect(again.status).toBe(409)
    expect(await again.text()).toContain('id="admin-jobs-error"')
    expect((await t.call('POST', `/admin/jobs/${seeded.running}/cancel`, { ...auditor, headers: { ...HTMX, ...FORM }, body: '' })).status).toBe(403)
  })
})

describe('admin limits page', () => {
  const app = useApp()
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

  test('admins only: auditors and members are refused', async () => {
    expect((await app().call('GET', '/admin/limits', auditor)).status).toBe(403)
    expect((await app().call('GET', '/admin/limits', { user: freshUser() })).status).toBe(403)
    const page = await (await app().call('GET', '/admin/limits', admin)).text()
    expect(page).toContain('<h1>Limits</h1>')
    expect(page).toContain('id="limit-form"')
    expect(page).toContain('<option value="ADMIN_AGENT">')
  })

  test('set a role budget and a user budget through the form (audited), then remove one', async () => {
    const t = app()
    const person = freshUser('budgeted')
    await userIdOf(t, person)
    const role = await t.call('POST', '/admin/limits', { ...admin, headers: { ...HTMX, ...FORM }, body: form({ scope: 'role', subject: 'auditor', daily_tokens: '5000', daily_cost_usd: '' }) })
    expect(role.status).toBe(200)
    const panel = await role.text()
    expect(panel).toStartWith('<section id="limits-panel">')
    expect(panel).toContain('Saved: role auditor may use 5000 tokens and an inherited cost a day.')
    const [event] = await auditEvents(t, { action: 'limits.set', request_id: role.headers.get('x-request-id')! })
    expect(event).toMatchObject({ actor: admin.user, target: 'limits:role:auditor', metadata: { scope: 'role', subject: 'auditor', daily_tokens: 5000, daily_cost_usd: null, removed: false } })
    const user = await t.call('POST', '/admin/limits', { ...admin, headers: { ...HTMX, ...FORM }, body: form({ scope: 'user', subject: person, daily_tokens: '', daily_cost_usd: '1.5' }) })
    expect(user.status).toBe(200)
    const limits = (await t.json('GET', '/api/admin/limits', admin)).body.items
    expect(limits).toContainEqual(expect.objectContaining({ scope: 'user', subject: person, daily_tokens: null, daily_cost_usd: 1.5 }))
    expect(limits).toContainEqual(expect.objectContaining({ scope: 'role', subject: 'auditor', daily_tokens: 5000 }))
    const page = await (await t.call('GET', '/admin/limits', admin)).text()
    expect(page).toContain(`data-scope="user"`)
    expect(page).toContain('$1.50')
    // A plain form post (no htmx) answers 303 back to the page.
    const removed = await t.call('POST', '/admin/limits', { ...admin, headers: FORM, body: form({ scope: 'role', subject: 'auditor' }) })
    expect(removed.status).toBe(303)
    expect(removed.headers.get('location')).toBe('/admin/limits')
    expect((await t.json('GET', '/api/admin/limits', admin)).body.items.some((limit: { subject: string }) => limit.subject === 'auditor')).toBe(false)
  })

  test('refusals come back beside the form with its input kept', async () => {
    const t = app()
    const bad = await t.call('POST', '/admin/limits', { ...admin, headers: { ...HTMX, ...FORM }, body: form({ scope: 'role', subject: 'analyst', daily_tokens: '12.5' }) })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    expect(html).toContain('Invalid field &quot;daily_tokens&quot;')
    expect(html).toContain('value="analyst"')
    expect(html).toContain('value="12.5"')
    const nobody = freshUser('never-signed-in')
    const missing = await t.call('POST', '/admin/limits', { ...admin, headers: FORM, body: form({ scope: 'user', subject: nobody, daily_tokens: '10' }) })
    expect(missing.status).toBe(404)
    const page = await missing.text()
    expect(page).toContain('<h1>Limits</h1>')
    expect(page).toContain('has signed in yet')
    expect(page).toContain(`value="${nobody}"`)
  })
})
