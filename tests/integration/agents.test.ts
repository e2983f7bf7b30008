/**
 * The agent proxy: the paginated agent list, and direct agent calls allowed
 * only to roles in AGENT_ROLE_ALLOWLIST, with the caller's role stored on the
 * job and in the audit event (SPEC §2, §4).
 */
import { describe, expect, test } from 'bun:test'
import { createInlineQueue } from '../../plugins/jobs/inline'
import { AGENTS } from '../../src/council/catalog'
import type { TestApp } from '../helpers/app'
import { auditEvents, expectErrorShape, freshUser, useApp } from './support'

const NAMES = AGENTS.map((agent) => agent.name).sort()

async function idle(t: TestApp): Promise<void> {
  expect(t.deps.queue.backend).toBe('inline')
  // The inline queue's test hook; the JobQueue interface does not expose it.
  await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
}

async function jobsOf(t: TestApp, email: string) {
  const userId = await t.deps.stores.identity.userIdByEmail(email)
  if (!userId) return []
  return t.deps.stores.jobs.page(userId, null, 200)
}

async function auditFor(t: TestApp, jobId: string) {
  await t.deps.audit.flush()
  return (await auditEvents(t, { action: 'agent.call' })).filter((event) => event.jobId === jobId)
}

describe('GET /api/v1/agents', () => {
  const app = useApp()

  test('lists every agent as {name, description, model}, ordered by name', async () => {
    const res = await app().json('GET', '/api/v1/agents', { user: freshUser() })
    expect(res.status).toBe(200)
    expect(res.body.limit).toBe(25)
    expect(res.body.next_cursor).toBeNull()
    expect(res.body.items.map((agent: any) => agent.name)).toEqual(NAMES)
    for (const item of res.body.items) {
      expect(Object.keys(item).sort()).toEqual(['description', 'model', 'name'])
      const seed = AGENTS.find((agent) => agent.name === item.name)!
      expect(item).toEqual({ name: seed.name, description: seed.description, model: seed.model })
    }
    // The persona (the system prompt) is not part of the public listing.
    expect(JSON.stringify(res.body)).not.toContain('You are the')
  })

  test('limit=2 walks every agent once through next_cursor', async () => {
    const user = freshUser()
    const names: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const path: string = `/api/v1/agents?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const res = await app().json('GET', path, { user })
      expect(res.status).toBe(200)
      expect(res.body.limit).toBe(2)
      expect(res.body.items.length).toBeLessThanOrEqual(2)
      names.push(...res.body.items.map((agent: any) => agent.name))
      cursor = res.body.next_cursor
      if (++pages > 20) throw new Error('pagination does not end')
    } while (cursor)
    expect(pages).toBe(Math.ceil(NAMES.length / 2))
    expect(names).toEqual(NAMES)
  })

  test('limit=500 is clamped to 200', async () => {
    const res = await app().json('GET', '/api/v1/agents?limit=500', { user: freshUser() })
    expect(res.status).toBe(200)
    expect(res.body.limit).toBe(200)
    expect(res.body.items).toHaveLength(NAMES.length)
  })

  test('needs a caller', async () => {
    expectErrorShape(expect, await app().json('GET', '/api/v1/agents'), 401)
  })
})

describe('POST /api/v1/agents/:name/run (default AGENT_ROLE_ALLOWLIST)', () => {
  const app = useApp()

  test('a plain member → 403 forbidden, and no job is created', async () => {
    const t = app()
    const user = freshUser('member')
    const before = await t.deps.stores.jobs.statusCounts()
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, body: { input: 'Summarise our options.' } })
    expectErrorShape(expect, res, 403, 'forbidden')
    expect(await jobsOf(t, user)).toEqual([])
    // No job of anyone's was created by the refused call (other tests share this app, so compare counts).
    expect(await t.deps.stores.jobs.statusCounts()).toEqual(before)
  })

  test('an auditor or admin that is not on the allowlist → 403 too', async () => {
    for (const role of ['auditor', 'admin']) {
      const res = await app().json('POST', '/api/v1/agents/analyst/run', { user: freshUser(role), role, body: { input: 'Hi' } })
      expectErrorShape(expect, res, 403, 'forbidden')
    }
  })

  test('X-Role: ADMIN_AGENT → 202 {job_id}; the job stores the role and the answer; the audit event has the role and request_id', async () => {
    const t = app()
    const user = freshUser('operator')
    const input = 'What are the risks of a big-bang migration?'
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input } })
    expect(res.status).toBe(202)
    expect(res.body).toEqual({ job_id: expect.any(String), status: 'queued' })
    const jobId = res.body.job_id as string
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/${jobId}`)
    const requestId = res.headers.get('x-request-id')!
    await idle(t)

    const job = await t.json('GET', `/api/v1/jobs/${jobId}`, { user, role: 'ADMIN_AGENT' })
    expect(job.status).toBe(200)
    expect(job.body).toMatchObject({
      id: jobId,
      kind: 'agent',
      status: 'succeeded',
      role: 'ADMIN_AGENT',
      session_id: null,
      request_id: requestId,
      progress: 100,
      error: null,
    })
    expect(job.body.output.agent).toBe('analyst')
    expect(job.body.output.model).toBe('offline-small')
    expect(typeof job.body.output.content).toBe('string')
    expect(job.body.output.content).toContain('**Analyst**')
    expect(job.body.output.content).toContain(input)
    expect(job.body.output.tokens.input).toBeGreaterThan(0)
    expect(job.body.output.tokens.output).toBeGreaterThan(0)

    const events = await auditFor(t, jobId)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ action: 'agent.call', role: 'ADMIN_AGENT', requestId, target: 'agent:analyst', actor: user })
    // The input itself never reaches the audit trail.
    expect(JSON.stringify(events[0]!.metadata)).not.toContain(input)

    // The job's logs carry the same request_id.
    const logs = await t.json('GET', `/api/v1/jobs/${jobId}/logs`, { user, role: 'ADMIN_AGENT' })
    expect(logs.body.items.length).toBeGreaterThan(0)
    for (const line of logs.body.items) expect(line.request_id).toBe(requestId)
  })

  test('GODMODE and SUPER_ADMIN are allowed too, and their role is what is stored', async () => {
    const t = app()
    for (const role of ['GODMODE', 'SUPER_ADMIN']) {
      const user = freshUser(role.toLowerCase())
      const res = await t.json('POST', '/api/v1/agents/skeptic/run', { user, role, body: { input: 'Poke holes in this plan.' } })
      expect(res.status).toBe(202)
      await idle(t)
      const job = await t.json('GET', `/api/v1/jobs/${res.body.job_id}`, { user, role })
      expect(job.body).toMatchObject({ status: 'succeeded', role, kind: 'agent' })
      expect(job.body.output.content).toContain('**Skeptic**')
      const events = await auditFor(t, res.body.job_id)
      expect(events.map((event) => event.role)).toEqual([role])
    }
  })

  test('an allowed role alongside admin: the stored role is the allowlisted one', async () => {
    const t = app()
    const user = freshUser('both')
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'admin,ADMIN_AGENT', body: { input: 'Hi there' } })
    expect(res.status).toBe(202)
    const events = await auditFor(t, res.body.job_id)
    expect(events[0]?.role).toBe('ADMIN_AGENT')
  })

  test('an unknown agent → 404; empty or missing input → 422; no job is created', async () => {
    const t = app()
    const user = freshUser('operator')
    const role = 'ADMIN_AGENT'
    expectErrorShape(expect, await t.json('POST', '/api/v1/agents/nobody/run', { user, role, body: { input: 'Hi' } }), 404, 'not_found')
    expectErrorShape(expect, await t.json('POST', '/api/v1/agents/analyst/run', { user, role, body: { input: '' } }), 422)
    expectErrorShape(expect, await t.json('POST', '/api/v1/agents/analyst/run', { user, role, body: {} }), 422)
    expect(await jobsOf(t, user)).toEqual([])
  })

  test('the same Idempotency-Key returns the same job', async () => {
    const t = app()
    const user = freshUser('operator')
    const options = { user, role: 'ADMIN_AGENT', body: { input: 'Once only' }, headers: { 'idempotency-key': `agent-${crypto.randomUUID()}` } }
    const first = await t.json('POST', '/api/v1/agents/analyst/run', options)
    const second = await t.json('POST', '/api/v1/agents/analyst/run', options)
    expect(first.status).toBe(202)
    expect(second.status).toBe(202)
    expect(second.body.job_id).toBe(first.body.job_id)
    await idle(t)
    expect(await jobsOf(t, user)).toHaveLength(1)
  })
})

describe('POST /api/v1/agents/:name/run with AGENT_ROLE_ALLOWLIST=CUSTOM', () => {
  const app = useApp({ AGENT_ROLE_ALLOWLIST: 'CUSTOM' })

  test('ADMIN_AGENT is now refused and CUSTOM allowed, with CUSTOM stored on the job and the audit event', async () => {
    const t = app()
    const refused = await t.json('POST', '/api/v1/agents/analyst/run', { user: freshUser('old'), role: 'ADMIN_AGENT', body: { input: 'Hi' } })
    expectErrorShape(expect, refused, 403, 'forbidden')

    const user = freshUser('custom')
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'CUSTOM', body: { input: 'Hi' } })
    expect(res.status).toBe(202)
    await idle(t)
    const job = await t.json('GET', `/api/v1/jobs/${res.body.job_id}`, { user, role: 'CUSTOM' })
    expect(job.body).toMatchObject({ status: 'succeeded', role: 'CUSTOM' })
    const events = await auditFor(t, res.body.job_id)
    expect(events[0]).toMatchObject({ role: 'CUSTOM', requestId: res.headers.get('x-request-id') })
  })
})
