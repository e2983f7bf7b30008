/**
 * Daily budgets through the real app, on the database of the pass (libsql,
 * then PostgreSQL): a run whose worst case does not fit is refused before any
 * job or LLM call; a run's reservation is settled to what it used; a run that
 * overruns is stopped before the call that would pass the budget; concurrent
 * runs cannot both take the last of a budget; 80 %/95 % alerts reach a webhook
 * once each; admins set per-user and per-role limits (audited); the meter also
 * runs in the separate BullMQ worker process.
 */
import { afterAll, afterEach, describe, expect, test } from 'bun:test'
import type { createInlineQueue } from '../../plugins/jobs/inline'
import { secondsUntilReset } from '../../src/modules/budgets/service'
import { createOfflineProvider } from '../../src/llm/offline'
import type { LlmProvider } from '../../src/llm/types'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { auditEvents, describeOnPostgres, expectErrorShape, freshUser, userIdOf } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The default palette with COUNCIL_MAX_TOKENS=1024: 3 members × (draft + review) + the chair, each 1024 in + 1024 out. */
const COUNCIL_RESERVATION = 7 * 2048
/** 6 calls on offline-small (307 µ$ each) and one on offline-large (1536 µ$). */
const COUNCIL_RESERVATION_USD = (6 * 307 + 1536) / 1_000_000

const opened: TestApp[] = []
const workers: WorkerProcess[] = []
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
  for (const t of opened.splice(0)) await t.close()
})

async function build(env: Record<string, string> = {}, llm?: LlmProvider, dialect?: 'pg') {
  const t = await buildTestApp(env, { llm, dialect })
  opened.push(t)
  return t
}

const idle = (t: TestApp) => (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
const usage = async (t: TestApp, user: string, role?: string) => (await t.json('GET', '/api/v1/me/usage', { user, role })).body
const admin = { user: 'root@example.com', role: 'admin' }

async function newSession(t: TestApp, user: string, question = 'Should we adopt a four-day week?') {
  const res = await t.json('POST', '/api/v1/sessions', { user, body: { question } })
  expect(res.status).toBe(201)
  return res.body.id as string
}

/** The offline provider, reporting `tokensIn` for every call (a model that reads far more than it writes). */
function heavyLlm(tokensIn: number) {
  const offline = createOfflineProvider({ latencyMs: 0 })
  const llm = {
    name: 'heavy',
    calls: 0,
    async complete(request: Parameters<LlmProvider['complete']>[0]) {
      llm.calls++
      return { ...(await offline.complete(request)), tokensIn }
    },
  }
  return llm
}

/** For agent calls: "use N tokens" in the input makes the call report N tokens in. */
function sizedLlm() {
  const offline = createOfflineProvider({ latencyMs: 0 })
  return {
    name: 'sized',
    async complete(request: Parameters<LlmProvider['complete']>[0]) {
      const result = await offline.complete(request)
      const wanted = /use (\d+) tokens/.exec(request.messages.map((m) => m.content).join('\n'))
      return wanted ? { ...result, tokensIn: Number(wanted[1]), tokensOut: 0 } : result
    },
  } satisfies LlmProvider
}

describe('reservation before any money is spent', () => {
  test('a run that does not fit the token budget: 429 naming it, with Retry-After to UTC midnight; no job, no LLM call', async () => {
    const llm = createOfflineProvider({ latencyMs: 0 })
    const t = await build({ DAILY_TOKEN_BUDGET: '10000' }, llm)
    const user = freshUser('tight')
    const sessionId = await newSession(t, user)
    const res = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expectErrorShape(expect, res, 429, 'budget_exceeded')
    expect(res.body.error.message).toContain('Daily token budget exceeded')
    expect(res.body.error.message).toContain(`${COUNCIL_RESERVATION.toLocaleString('en-US')} tokens`)
    expect(res.body.error.message).toContain('10,000 tokens are left')
    expect(res.body.error.message).toContain('00:00 UTC')
    expect(res.body.error.details).toMatchObject({ budget: 'tokens', needed: COUNCIL_RESERVATION, remaining: 10000, limit: 10000 })
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(Math.abs(retryAfter - secondsUntilReset())).toBeLessThanOrEqual(5)

    expect(await t.deps.stores.jobs.latestForSession(sessionId)).toBeUndefined()
    const today = new Date().toISOString().slice(0, 10)
    expect(await t.deps.stores.budgets.openReservations([await userIdOf(t, user)], today)).toEqual([])
    const runEvents = await auditEvents(t, { action: 'session.run', target: `session:${sessionId}` })
    expect(runEvents).toEqual([])
    await idle(t)
    expect(llm.calls).toBe(0)
    expect((await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body.status).toBe('created')
    expect(await usage(t, user)).toMatchObject({ tokens: { used: 0, reserved: 0, limit: 10000 } })

    // The page's run button is refused the same way.
    const page = await t.call('POST', `/sessions/${sessionId}/run`, { user, headers: { 'hx-request': 'true' } })
    expect(page.status).toBe(429)
    expect(await page.text()).toContain('token budget')
    expect(llm.calls).toBe(0)
  })

  test('an agent call that does not fit a per-user cost limit: 429 naming the cost budget, no job', async () => {
    const llm = createOfflineProvider({ latencyMs: 0 })
    const t = await build({}, llm)
    const user = freshUser('pricey')
    await usage(t, user, 'ADMIN_AGENT') // signs the user in
    const set = await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'user', subject: user, daily_cost_usd: 0.0001 } })
    expect(set.status).toBe(200)
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: 'Expensive?' } })
    expectErrorShape(expect, res, 429, 'budget_exceeded')
    expect(res.body.error.message).toContain('Daily cost budget exceeded')
    expect(res.body.error.details).toMatchObject({ budget: 'cost', limit: 0.0001, remaining: 0.0001, needed: 0.000307 })
    const jobs = await t.deps.stores.jobs.page(await userIdOf(t, user), null, 200)
    expect(jobs.filter((job) => job.kind === 'agent')).toEqual([])
    expect(llm.calls).toBe(0)
  })

  test('two runs racing for the last of a budget: exactly one is accepted', async () => {
    const t = await build({ DAILY_TOKEN_BUDGET: String(COUNCIL_RESERVATION + 5000), LLM_OFFLINE_LATENCY_MS: '100' })
    const user = freshUser('racer')
    const [a, b] = [await newSession(t, user, 'First?'), await newSession(t, user, 'Second?')]
    const results = await Promise.all([a, b].map((id) => t.json('POST', `/api/v1/sessions/${id}/run`, { user })))
    expect(results.map((res) => res.status).sort()).toEqual([202, 429])
    await idle(t)
  })
})

describe('settlement', () => {
  test('while a run is in flight its worst case is reserved; when it ends, used is what it cost and nothing stays reserved', async () => {
    const t = await build({}, createOfflineProvider({ latencyMs: 150 }))
    const user = freshUser('settler')
    const sessionId = await newSession(t, user)
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expect(run.status).toBe(202)
    const during = await usage(t, user)
    expect(during.tokens).toEqual({ used: 0, reserved: COUNCIL_RESERVATION, limit: 200000 })
    expect(during.cost_usd).toEqual({ used: 0, reserved: COUNCIL_RESERVATION_USD, limit: 5 })

    await idle(t)
    const session = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(session.status).toBe('succeeded')
    const after = await usage(t, user)
    expect(after.tokens).toEqual({ used: session.tokens.total, reserved: 0, limit: 200000 })
    expect(after.cost_usd).toEqual({ used: session.cost_usd, reserved: 0, limit: 5 })
    expect(after.warnings).toEqual([])
    expect(after.day).toBe(new Date().toISOString().slice(0, 10))

    const reservation = await t.deps.stores.budgets.reservation(run.body.job_id)
    expect(reservation!.settledAt).not.toBeNull()
    expect(reservation!.calls).toBe(7)
    const day = await t.deps.stores.budgets.usage(await userIdOf(t, user), after.day)
    expect(Number(day!.tokensHeld)).toBe(0)
    expect(Number(day!.costHeldMicroUsd)).toBe(0)

    // The admin view agrees, and pages.
    const other = freshUser('second')
    await t.json('POST', '/api/v1/agents/analyst/run', { user: other, role: 'ADMIN_AGENT', body: { input: 'Hi?' } })
    await idle(t)
    const first = await t.json('GET', '/api/admin/usage?limit=1', { user: 'auditor@example.com', role: 'auditor' })
    expect(first.status).toBe(200)
    expect(first.body.items).toHaveLength(1)
    expect(first.body.items[0]).toMatchObject({ email: user, tokens: { used: session.tokens.total, reserved: 0, limit: 200000 } })
    expect(first.body.next_cursor).toBeString()
    const second = await t.json('GET', `/api/admin/usage?limit=1&cursor=${first.body.next_cursor}`, { user: 'auditor@example.com', role: 'auditor' })
    expect(second.body.items[0].email).toBe(other)
    expect(second.body.items[0].tokens.used).toBeGreaterThan(0)
    expect(second.body.next_cursor).toBeNull()
  })

  test('a cancelled run settles to what it used before it stopped', async () => {
    const t = await build({}, createOfflineProvider({ latencyMs: 300 }))
    const user = freshUser('canceller')
    const sessionId = await newSession(t, user)
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    await Bun.sleep(450) // the drafts are back, the reviews in flight
    expect((await t.json('POST', `/api/v1/jobs/${run.body.job_id}/cancel`, { user })).status).toBe(202)
    await idle(t)
    expect((await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })).body.status).toBe('cancelled')
    const outputs = (await t.deps.stores.stageOutputs.forRun(sessionId)).filter((output) => output.jobId === run.body.job_id)
    const spent = outputs.reduce((sum, o) => sum + o.tokensIn + o.tokensOut, 0)
    expect(spent).toBeGreaterThan(0)
    expect((await usage(t, user)).tokens).toEqual({ used: spent, reserved: 0, limit: 200000 })
  })
})

describe('metering during a run', () => {
  test('a run whose actual use overtakes the budget is stopped before the call that would pass it, and marked', async () => {
    // Each call reads 8,000 tokens: the reservation (14,336) fits the 20,000 budget, the three drafts (≈24,300) do not.
    const llm = heavyLlm(8000)
    const t = await build({ DAILY_TOKEN_BUDGET: '20000' }, llm)
    const user = freshUser('overrun')
    const sessionId = await newSession(t, user)
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expect(run.status).toBe(202)
    await idle(t)
    const job = (await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })).body
    expect(job.status).toBe('failed')
    expect(job.error).toStartWith('Stopped: daily token budget reached after 3 calls.')
    expect(job.error).toContain('20,000 tokens')
    expect(job.attempts).toBe(1)
    expect(llm.calls).toBe(3)
    const session = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(session.status).toBe('failed')
    expect(session.error).toStartWith('Stopped: daily token budget')
    const logs = (await t.json('GET', `/api/v1/jobs/${run.body.job_id}/logs`, { user })).body.items
    expect(logs.some((line: { msg: string; level: string }) => line.level === 'error' && line.msg === 'job failed')).toBe(true)
    const after = await usage(t, user)
    expect(after.tokens.reserved).toBe(0)
    expect(after.tokens.used).toBeGreaterThan(24000)
    // Over budget now: the next run is refused up front.
    const next = await t.json('POST', `/api/v1/sessions/${await newSession(t, user, 'Again?')}/run`, { user })
    expectErrorShape(expect, next, 429, 'budget_exceeded')
    expect(next.body.error.message).toContain('nothing is left')
    expect(llm.calls).toBe(3)
  })

  test('a limit lowered by an admin after the run was accepted stops it at its next stage', async () => {
    const llm = createOfflineProvider({ latencyMs: 300 })
    const t = await build({}, llm)
    const user = freshUser('lowered')
    const sessionId = await newSession(t, user)
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expect(run.status).toBe(202)
    // Once the three drafts are in flight (their budget check done), the admin lowers the limit.
    while (llm.calls < 3) await Bun.sleep(5)
    expect((await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'user', subject: user, daily_tokens: 100 } })).status).toBe(200)
    await idle(t)
    const job = (await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })).body
    expect(job.status).toBe('failed')
    expect(job.error).toStartWith('Stopped: daily token budget reached after 3 calls.')
    expect(llm.calls).toBe(3)
  })
})

describe('alerts', () => {
  const received: Array<Record<string, unknown>> = []
  const hook = Bun.serve({
    port: 0,
    async fetch(request) {
      received.push((await request.json()) as Record<string, unknown>)
      return new Response('ok')
    },
  })
  afterAll(() => hook.stop(true))

  /** Waits for `count` alerts in all, then a moment more to see that no other arrives. */
  const waitForAlerts = async (count: number) => {
    const deadline = Date.now() + 3000
    while (received.length < count && Date.now() < deadline) await Bun.sleep(20)
    await Bun.sleep(150)
  }

  test('80 % and 95 % of a budget: one webhook POST, one log line and a notice each, once per day', async () => {
    const t = await build({ DAILY_TOKEN_BUDGET: '100000', ALERT_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/alerts` }, sizedLlm())
    const user = freshUser('alerted')
    const call = async (tokens: number) => {
      const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: `Please use ${tokens} tokens` } })
      expect(res.status).toBe(202)
      await idle(t)
    }
    await call(50_000)
    await waitForAlerts(0)
    expect(received).toEqual([])

    await call(30_000) // 80 %
    await waitForAlerts(1)
    expect(received).toHaveLength(1)
    expect(received[0]).toMatchObject({ type: 'budget_alert', user, budget: 'tokens', threshold: 80, percent: 80, used: 80000, limit: 100000 })

    await call(15_000) // 95 %
    await waitForAlerts(2)
    expect(received.map((alert) => alert.threshold)).toEqual([80, 95])

    await call(1_000) // 96 %: nothing new
    expect((await usage(t, user, 'ADMIN_AGENT')).warnings).toMatchObject([{ budget: 'tokens', threshold: 95, percent: 96 }])
    await waitForAlerts(2)
    expect(received).toHaveLength(2)

    const logged = t.logs.filter((line) => line.msg === 'budget alert')
    expect(logged).toHaveLength(2)
    expect(logged.map((line) => [line.level, line.user, line.budget, line.percent])).toEqual([
      ['warn', user, 'tokens', 80],
      ['warn', user, 'tokens', 95],
    ])

    // The sessions pages load the notice; it names the budget.
    const page = await t.call('GET', '/sessions', { user, role: 'ADMIN_AGENT', headers: { accept: 'text/html' } })
    expect(await page.text()).toContain('hx-get="/budget/notice"')
    const notice = await (await t.call('GET', '/budget/notice', { user, role: 'ADMIN_AGENT', headers: { 'hx-request': 'true' } })).text()
    expect(notice).toContain('You have used 96% of today')
    expect(notice).toContain('token budget (96,000 of 100,000 tokens)')
    const quiet = await (await t.call('GET', '/budget/notice', { user: freshUser('calm'), headers: { 'hx-request': 'true' } })).text()
    expect(quiet).toBe('<div id="budget-notice"></div>')
  }, 20_000)

  test('a webhook that cannot be reached is logged and breaks nothing', async () => {
    const t = await build({ DAILY_TOKEN_BUDGET: '10000', ALERT_WEBHOOK_URL: 'http://127.0.0.1:1/alerts', ALERT_WEBHOOK_TIMEOUT_MS: '500' }, sizedLlm())
    const user = freshUser('unheard')
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: 'Please use 9900 tokens' } })
    expect(res.status).toBe(202)
    await idle(t)
    expect((await t.json('GET', `/api/v1/jobs/${res.body.job_id}`, { user })).body.status).toBe('succeeded')
    await t.deps.budgets.close() // waits for the webhook attempt
    expect(t.logs.filter((line) => line.msg === 'budget alert')).toHaveLength(2)
    expect(t.logs.some((line) => line.msg === 'budget alert webhook failed')).toBe(true)
    expect((await usage(t, user)).tokens.used).toBe(9900)
  })
})

describe('admin limits', () => {
  test('per-user (by email) and per-role limits: audited, listed, and applied user > role > default', async () => {
    const t = await build()
    const user = freshUser('limited')
    const plain = freshUser('plain')
    await usage(t, user, 'ADMIN_AGENT')
    await usage(t, plain)

    // Only admins manage limits; auditors read usage; members do neither.
    const body = { scope: 'role', subject: 'ADMIN_AGENT', daily_tokens: 500000 }
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { user: plain, body }), 403, 'forbidden')
    expectErrorShape(expect, await t.json('GET', '/api/admin/limits', { user: plain }), 403, 'forbidden')
    expectErrorShape(expect, await t.json('GET', '/api/admin/usage', { user: plain }), 403, 'forbidden')
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { user: 'aud@example.com', role: 'auditor', body }), 403, 'forbidden')
    expect((await t.json('GET', '/api/admin/usage', { user: 'aud@example.com', role: 'auditor' })).status).toBe(200)

    const role = await t.json('PUT', '/api/admin/limits', { ...admin, body })
    expect(role.status).toBe(200)
    expect(role.body).toMatchObject({ scope: 'role', subject: 'ADMIN_AGENT', user_id: null, daily_tokens: 500000, daily_cost_usd: null, updated_by: admin.user })
    expect((await usage(t, user, 'ADMIN_AGENT')).tokens.limit).toBe(500000)
    expect((await usage(t, plain)).tokens.limit).toBe(200000)

    // A user override wins over the role's, even when it is lower; the other budget still inherits.
    const own = await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'user', subject: user.toUpperCase(), daily_tokens: 300000, daily_cost_usd: 12.5 } })
    expect(own.status).toBe(200)
    expect(own.body).toMatchObject({ scope: 'user', subject: user, daily_tokens: 300000, daily_cost_usd: 12.5 })
    expect(own.body.user_id).toBeString()
    const mine = await usage(t, user, 'ADMIN_AGENT')
    expect(mine.tokens.limit).toBe(300000)
    expect(mine.cost_usd.limit).toBe(12.5)

    // Among roles, the most generous applies (everyone holds `user`).
    expect((await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'role', subject: 'user', daily_tokens: 250000 } })).status).toBe(200)
    expect((await usage(t, plain)).tokens.limit).toBe(250000)
    const removed = await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'user', subject: user, daily_tokens: null, daily_cost_usd: null } })
    expect(removed.status).toBe(200)
    expect((await usage(t, user, 'ADMIN_AGENT')).tokens.limit).toBe(500000)
    expect((await usage(t, user, 'ADMIN_AGENT')).cost_usd.limit).toBe(5)

    const list = await t.json('GET', '/api/admin/limits', admin)
    expect(list.status).toBe(200)
    expect(list.body.defaults).toEqual({ daily_tokens: 200000, daily_cost_usd: 5 })
    expect(list.body.items.map((item: { scope: string; subject: string; daily_tokens: number }) => [item.scope, item.subject, item.daily_tokens])).toEqual([
      ['role', 'ADMIN_AGENT', 500000],
      ['role', 'user', 250000],
    ])

    // Each change is one audit event, written with it.
    const events = await auditEvents(t, { action: 'limits.set' })
    expect(events.map((event) => event.target)).toEqual([
      'limits:role:ADMIN_AGENT',
      `limits:user:${user}`,
      'limits:role:user',
      `limits:user:${user}`,
    ])
    expect(events[0]).toMatchObject({ actor: admin.user, role: 'admin' })
    expect(events[1]!.metadata).toMatchObject({ scope: 'user', subject: user, daily_tokens: 300000, daily_cost_usd: 12.5, previous: null })
    expect(events[3]!.metadata).toMatchObject({ removed: true, previous: { daily_tokens: 300000, daily_cost_usd: 12.5 } })
  })

  test('bad input: unknown user 404, bad scope or role name 422', async () => {
    const t = await build()
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'user', subject: 'nobody@example.com', daily_tokens: 5 } }), 404)
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'team', subject: 'x', daily_tokens: 5 } }), 422)
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'role', subject: 'no spaces', daily_tokens: 5 } }), 422)
    expectErrorShape(expect, await t.json('PUT', '/api/admin/limits', { ...admin, body: { scope: 'role', subject: 'user', daily_tokens: -1 } }), 422)
  })
})

async function bullApp(dialect?: 'pg') {
  const queue = `test-budget-${crypto.randomUUID().slice(0, 8)}`
  const t = await build({ JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue }, undefined, dialect)
  return { t, queue }
}

describeOnPostgres('with BullMQ and a separate worker process (PostgreSQL, Redis)', () => {
  test('the worker meters the run and settles its reservation', async () => {
    const { t, queue } = await bullApp('pg')
    const worker = startWorker({ DATABASE_URL: t.config.db.url, REDIS_URL: REDIS, JOBS_QUEUE: queue })
    workers.push(worker)
    await worker.ready
    const user = freshUser('remote')
    const sessionId = await newSession(t, user)
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expect(run.status).toBe(202)
    const deadline = Date.now() + 15_000
    let session
    do {
      await Bun.sleep(100)
      session = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    } while (session.status !== 'succeeded' && session.status !== 'failed' && Date.now() < deadline)
    expect(session.status).toBe('succeeded')
    // Settlement follows the job's last write by a moment.
    let after
    do {
      after = await usage(t, user)
    } while (after.tokens.reserved !== 0 && Date.now() < deadline && (await Bun.sleep(50), true))
    expect(after.tokens).toEqual({ used: session.tokens.total, reserved: 0, limit: 200000 })
    const reservation = await t.deps.stores.budgets.reservation(run.body.job_id)
    expect(reservation!.calls).toBe(7)
  }, 30_000)
})

describe('with BullMQ, no worker (Redis)', () => {
  test('a run cancelled while queued (no worker) gives its reservation back', async () => {
    const { t } = await bullApp()
    const user = freshUser('queued')
    const run = await t.json('POST', `/api/v1/sessions/${await newSession(t, user)}/run`, { user })
    expect(run.status).toBe(202)
    expect((await usage(t, user)).tokens).toEqual({ used: 0, reserved: COUNCIL_RESERVATION, limit: 200000 })
    expect((await t.json('POST', `/api/v1/jobs/${run.body.job_id}/cancel`, { user })).status).toBe(202)
    expect((await usage(t, user)).tokens).toEqual({ used: 0, reserved: 0, limit: 200000 })
  })
})
