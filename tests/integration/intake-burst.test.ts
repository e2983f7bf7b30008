/**
 * Intake under a burst (issue 15): sessions created and runs requested at the
 * same moment share statements (one transaction per burst), yet every
 * request is decided exactly as if it had been alone — on the database of the
 * pass (libsql, then PostgreSQL):
 *  - many users at once: each run has its job, its reservation, its session
 *    queued, and one session.create and one session.run audit event;
 *  - one user's runs racing for a budget that fits two: exactly two accepted,
 *    the others 429 budget_exceeded with nothing written for them;
 *  - the same Idempotency-Key sent at once: one job, every answer names it, one audit event.
 */
import { afterEach, expect, test } from 'bun:test'
import type { createInlineQueue } from '../../plugins/jobs/inline'
import { utcDay } from '../../src/modules/budgets/amounts'
import { createOfflineProvider } from '../../src/llm/offline'
import { buildTestApp, type TestApp } from '../helpers/app'
import { auditEvents, freshUser, userIdOf } from './support'

/** The default palette with COUNCIL_MAX_TOKENS=1024: 7 calls × (1024 in + 1024 out). */
const COUNCIL_RESERVATION = 7 * 2048

const opened: TestApp[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

async function build(env: Record<string, string> = {}) {
  // Slow members, so runs are still held (not yet settled) while the test looks.
  const t = await buildTestApp(env, { llm: createOfflineProvider({ latencyMs: 300 }) })
  opened.push(t)
  return t
}
const idle = (t: TestApp) => (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()

test('a burst of create + run pairs from many users: each run has exactly its job, reservation, queued session and audit events', async () => {
  const t = await build()
  const users = Array.from({ length: 40 }, (_, i) => freshUser(`burst-${i}`))
  const pairs = await Promise.all(
    users.map(async (user, i) => {
      const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: `Burst question ${i}?` } })
      expect(created.status).toBe(201)
      const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
      expect(run.status).toBe(202)
      return { user, sessionId: created.body.id as string, jobId: run.body.job_id as string }
    }),
  )
  const { stores } = t.deps
  for (const { user, sessionId, jobId } of pairs) {
    const job = await stores.jobs.find(jobId)
    expect(job?.sessionId).toBe(sessionId)
    expect(job?.userId).toBe(await userIdOf(t, user))
    const reservation = await stores.budgets.reservation(jobId)
    expect(reservation?.tokensReserved).toBe(COUNCIL_RESERVATION)
    expect(reservation?.userId).toBe(job?.userId)
    expect(['queued', 'running', 'succeeded']).toContain((await stores.sessions.liveById(sessionId))?.status ?? 'missing')
  }
  const created = (await auditEvents(t, { action: 'session.create' })).filter((event) => pairs.some((pair) => event.sessionId === pair.sessionId))
  const runs = (await auditEvents(t, { action: 'session.run' })).filter((event) => pairs.some((pair) => event.jobId === pair.jobId))
  expect(created).toHaveLength(pairs.length)
  expect(runs).toHaveLength(pairs.length)
  // Each event names its own request's user and session.
  for (const pair of pairs) {
    const event = runs.find((e) => e.jobId === pair.jobId)!
    expect(event.sessionId).toBe(pair.sessionId)
    expect(event.actorId).toBe(await userIdOf(t, pair.user))
  }
  await idle(t)
}, 30_000)

test("one user's runs racing for a budget that fits two: exactly two accepted, the others refused with nothing written", async () => {
  const t = await build({ DAILY_TOKEN_BUDGET: String(2 * COUNCIL_RESERVATION + 1000) })
  const user = freshUser('burst-budget')
  const sessions: string[] = []
  for (let i = 0; i < 6; i++) sessions.push((await t.json('POST', '/api/v1/sessions', { user, body: { question: `Which ${i}?` } })).body.id)
  const results = await Promise.all(sessions.map((id) => t.json('POST', `/api/v1/sessions/${id}/run`, { user })))
  expect(results.map((res) => res.status).sort()).toEqual([202, 202, 429, 429, 429, 429])
  for (const res of results.filter((r) => r.status === 429)) expect(res.body.error.code).toBe('budget_exceeded')
  const userId = await userIdOf(t, user)
  const { stores } = t.deps
  const jobs = await stores.jobs.page(userId, null, 50)
  expect(jobs.map((job) => job.id).sort()).toEqual(results.filter((r) => r.status === 202).map((r) => r.body.job_id as string).sort())
  const day = await stores.budgets.usage(userId, utcDay(new Date()))
  expect(day!.tokensHeld + day!.tokensUsed).toBeLessThanOrEqual(2 * COUNCIL_RESERVATION)
  expect(day!.tokensHeld).toBe(2 * COUNCIL_RESERVATION)
  for (const job of jobs) expect((await stores.budgets.reservation(job.id))?.tokensReserved).toBe(COUNCIL_RESERVATION)
  const runEvents = (await auditEvents(t, { action: 'session.run', actor: userId }))
  expect(runEvents).toHaveLength(2)
  // The refused sessions were never queued.
  const refused = sessions.filter((_, i) => results[i]!.status === 429)
  for (const id of refused) expect((await stores.sessions.liveById(id))?.status).toBe('created')
  await idle(t)
}, 30_000)

test('the same Idempotency-Key sent at once: one job, every answer names it, one audit event', async () => {
  const t = await build()
  const user = freshUser('burst-key')
  const sessionId = (await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Once only?' } })).body.id as string
  const key = `burst-${crypto.randomUUID()}`
  const results = await Promise.all(
    Array.from({ length: 6 }, () => t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user, headers: { 'idempotency-key': key } })),
  )
  for (const res of results) expect(res.status).toBeLessThan(300)
  const ids = new Set(results.map((res) => res.body.job_id as string))
  expect(ids.size).toBe(1)
  const userId = await userIdOf(t, user)
  expect((await t.deps.stores.jobs.page(userId, null, 50)).map((job) => job.id)).toEqual([...ids])
  expect(await auditEvents(t, { action: 'session.run', actor: userId })).toHaveLength(1)
  const day = await t.deps.stores.budgets.usage(userId, utcDay(new Date()))
  expect(day!.tokensHeld + day!.tokensUsed).toBeLessThanOrEqual(COUNCIL_RESERVATION)
  await idle(t)
}, 30_000)
