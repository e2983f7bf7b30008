/**
 * Councils that finish together on PostgreSQL: their final writes (the
 * sessions' totals, then the jobs) go out as one batch statement per table, and
 * a batch that fails is written row by row without failing any council.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createOfflineProvider } from '../../src/llm/offline'
import type { LlmProvider } from '../../src/llm/types'
import { buildTestApp, type TestApp } from '../helpers/app'
import { getJob, idle, outputRows, stageOf } from './council-support'
import { describeOnPostgres, freshUser } from './support'

/**
 * Starts twelve councils of three users at once, waits, and checks each one's totals, job and synthesis against its own rows.
 * Twelve: a coalescer sends up to four batches before it gathers (db/coalesce.ts), so the later councils share one.
 */
async function runTwelveTogether(t: TestApp) {
  const users = [freshUser('together'), freshUser('together'), freshUser('together')]
  // Different questions give different token counts, so a mix-up of rows between councils shows.
  const sessions = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const created = await t.json('POST', '/api/v1/sessions', { user: users[i % 3]!, body: { question: `Question ${i}: ${'why '.repeat(i * 5)}should we?` } })
      expect(created.status).toBe(201)
      return created.body.id as string
    }),
  )
  // All runs at once, so the councils move (and finish) together.
  const started = await Promise.all(
    sessions.map(async (sessionId, i) => {
      const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user: users[i % 3]! })
      expect(run.status).toBe(202)
      return { sessionId, jobId: run.body.job_id as string }
    }),
  )
  await idle(t)
  const totals = new Set<number>()
  for (const [i, { sessionId, jobId }] of started.entries()) {
    const user = users[i % 3]!
    const rows = await outputRows(t, sessionId)
    const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((total, row) => total + pick(row), 0)
    const session = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(session.status).toBe('succeeded')
    expect(session.stage).toBe('synthesis')
    expect(session.tokens).toEqual({ input: sum((r) => r.tokensIn), output: sum((r) => r.tokensOut), total: sum((r) => r.tokensIn + r.tokensOut) })
    expect(session.cost_usd).toBeCloseTo(sum((r) => r.costMicroUsd) / 1_000_000, 9)
    totals.add(session.tokens.total)
    const job = await getJob(t, user, jobId)
    expect(job).toMatchObject({ status: 'succeeded', progress: 100, session_id: sessionId, error: null })
    expect(Date.parse(job.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at))
    const synthesis = rows.find((row) => row.stage === 'synthesis' && row.status === 'ok')!
    const results = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(results.synthesis.agent).toBe(synthesis.agent)
  }
  expect(totals.size).toBe(12)
  return started
}

/**
 * Watches the raw batch statements (the PostgreSQL stores' db.execute) whose text contains `marker`;
 * `fail` makes them throw instead of running.
 */
function watchBatchStatements(t: TestApp, marker: string, { fail = false } = {}) {
  const { handle } = t.deps.db
  if (handle.dialect !== 'pg') throw new Error('watchBatchStatements: the app is not on PostgreSQL')
  // Only the statement's text is read, so drizzle's SQL object is typed by the one field that holds it.
  const orm = handle.orm as unknown as { execute(query: { queryChunks: Array<{ value?: string[] }> }): Promise<unknown> }
  const original = orm.execute.bind(orm)
  const seen = { count: 0 }
  orm.execute = async (query) => {
    const text = query.queryChunks.map((chunk) => chunk.value?.join('') ?? '').join('')
    if (text.includes(marker)) {
      seen.count++
      if (fail) throw new Error('injected failure of the batch statement')
    }
    return original(query)
  }
  return { seen, restore: () => (orm.execute = original) }
}

/**
 * The offline provider, holding every synthesis call until `count` of them wait and then
 * answering them in one turn — as when a provider's answers to many councils land together.
 */
function synthesesTogether(count: number): LlmProvider {
  const offline = createOfflineProvider({ latencyMs: 0 })
  let waiting: Array<() => void> = []
  return {
    name: 'offline-together',
    async complete(request) {
      if (stageOf(request.messages) === 'synthesis') {
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          if (waiting.length === count) {
            for (const release of waiting) release()
            waiting = []
          }
        })
      }
      return offline.complete(request)
    },
  }
}

describeOnPostgres('councils that finish together (PostgreSQL, their syntheses answered in one turn)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({}, { dialect: 'pg', llm: synthesesTogether(12) })
  })
  afterAll(() => t?.close())

  test('their final writes go out as one batch, and each council gets its own totals, output and finish time', async () => {
    const watch = watchBatchStatements(t, 'update jobs as j')
    try {
      await runTwelveTogether(t)
    } finally {
      watch.restore()
    }
    expect(watch.seen.count).toBeGreaterThan(0)
  })

  test('when the batch statement fails, the councils are written one by one and all still succeed', async () => {
    const watch = watchBatchStatements(t, 'update sessions as s', { fail: true })
    let started: Array<{ jobId: string }> = []
    try {
      started = await runTwelveTogether(t)
    } finally {
      watch.restore()
    }
    expect(watch.seen.count).toBeGreaterThan(0)
    // On their first attempt: a failed batch must not send the councils round again.
    const rows = await Promise.all(started.map((job) => t.deps.stores.jobs.find(job.jobId)))
    expect(rows.map((row) => row?.attempts)).toEqual(started.map(() => 1))
  })
})
