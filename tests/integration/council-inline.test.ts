/**
 * The council on the in-process runner (JOBS_BACKEND=inline), driven through
 * the API: a full run and its results (libsql and PostgreSQL), idempotency and
 * conflicts, owner scoping, job logs, partial councils, quorum, chair fallback,
 * durable resume on retry, cancellation, the session and logs pages, /readyz.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq, inArray } from 'drizzle-orm'
import { createInlineQueue } from '../../plugins/jobs/inline'
import { aggregateRankings } from '../../src/council/aggregate'
import { createOfflineProvider } from '../../src/llm/offline'
import { LlmError, type LlmProvider } from '../../src/llm/types'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser, PG_URL, useApp, type Dialect } from './support'

const MEMBERS = ['analyst', 'pragmatist', 'skeptic']

/** Waits until the in-process runner has nothing waiting, running or scheduled for retry. */
async function idle(t: TestApp): Promise<void> {
  expect(t.deps.queue.backend).toBe('inline')
  // The inline queue's test hook; the JobQueue interface does not expose it.
  await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
}

/** Creates a session and runs it; returns the ids and the run request's X-Request-Id. */
async function startCouncil(t: TestApp, user: string, question = 'Should we move our services to a monorepo this quarter?', headers: Record<string, string> = {}) {
  const created = await t.json('POST', '/api/v1/sessions', { user, body: { question } })
  expect(created.status).toBe(201)
  const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user, headers })
  expect(run.status).toBe(202)
  return { sessionId: created.body.id as string, jobId: run.body.job_id as string, requestId: run.headers.get('x-request-id')!, run }
}

const getJob = async (t: TestApp, user: string, jobId: string) => (await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body

/** Polls the job until `until` holds (for states between enqueue and idle). */
async function waitForJob(t: TestApp, user: string, jobId: string, until: (job: any) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await getJob(t, user, jobId)
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the state in time: ${JSON.stringify(job)}`)
    await Bun.sleep(10)
  }
}

/** A libsql test app with an injected LLM (useApp takes no overrides). */
async function buildSqliteApp(env: Record<string, string>, llm: LlmProvider): Promise<TestApp> {
  const saved = process.env.TEST_DATABASE_URL
  delete process.env.TEST_DATABASE_URL
  try {
    return await buildTestApp(env, { llm })
  } finally {
    if (saved !== undefined) process.env.TEST_DATABASE_URL = saved
  }
}

type Stage = 'draft' | 'review' | 'synthesis'
const stageOf = (messages: Array<{ role: string; content: string }>): Stage => {
  const user = messages.filter((message) => message.role === 'user').map((message) => message.content).join('\n')
  return user.includes('Leaderboard (mean rank') ? 'synthesis' : user.includes('FINAL RANKING') ? 'review' : 'draft'
}

/** The offline provider, counting calls per stage and failing the calls `fail` picks with a retryable error. */
function flakyLlm(fail: (stage: Stage, nth: number) => boolean) {
  const offline = createOfflineProvider({ latencyMs: 0 })
  const calls: Record<Stage, number> = { draft: 0, review: 0, synthesis: 0 }
  const llm: LlmProvider = {
    name: 'offline-flaky',
    async complete(request) {
      const stage = stageOf(request.messages)
      const nth = ++calls[stage]
      if (fail(stage, nth)) throw new LlmError('flaky: HTTP 503 upstream overloaded', true, 503)
      return offline.complete(request)
    },
  }
  return { llm, calls }
}

async function outputRows(t: TestApp, sessionId: string) {
  const { stageOutputs } = t.deps.db.t
  return t.deps.db.orm.select().from(stageOutputs).where(eq(stageOutputs.runId, sessionId))
}

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
 * Watches the raw batch statements (executePg → db.orm.execute) whose text contains `marker`;
 * `fail` makes them throw instead of running.
 */
function watchBatchStatements(t: TestApp, marker: string, { fail = false } = {}) {
  const orm = t.deps.db.orm as unknown as { execute(query: { queryChunks: Array<{ value?: string[] }> }): Promise<unknown> }
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

describe('councils that finish together (PostgreSQL, their syntheses answered in one turn)', () => {
  let t: TestApp
  beforeAll(async () => {
    const saved = process.env.TEST_DATABASE_URL
    process.env.TEST_DATABASE_URL = PG_URL
    try {
      t = await buildTestApp({}, { llm: synthesesTogether(12) })
    } finally {
      if (saved === undefined) delete process.env.TEST_DATABASE_URL
      else process.env.TEST_DATABASE_URL = saved
    }
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
    const { jobs } = t.deps.db.t
    const rows = await t.deps.db.orm.select({ attempts: jobs.attempts }).from(jobs).where(inArray(jobs.id, started.map((job) => job.jobId)))
    expect(rows.map((row) => row.attempts)).toEqual(started.map(() => 1))
  })
})

// ---------------------------------------------------------------------------

for (const dialect of ['sqlite', 'pg'] as Dialect[]) {
  describe(`a council run on the in-process runner (${dialect})`, () => {
    const app = useApp(dialect)

    test('POST /run → 202, the job succeeds, and the results hold together', async () => {
      const t = app()
      const user = freshUser('council')
      const question = 'Should we move our services to a monorepo this quarter?'
      const { sessionId, jobId, requestId, run } = await startCouncil(t, user, question)
      expect(run.body).toEqual({ job_id: jobId, status: 'queued' })
      expect(run.headers.get('location')).toBe(`/api/v1/jobs/${jobId}`)
      await idle(t)

      const job = await t.json('GET', `/api/v1/jobs/${jobId}`, { user })
      expect(job.status).toBe(200)
      expect(job.body).toMatchObject({
        id: jobId,
        kind: 'council',
        status: 'succeeded',
        stage: 'synthesis',
        progress: 100,
        session_id: sessionId,
        request_id: requestId,
        attempts: 1,
        error: null,
      })
      expect(job.body.role).toBe('user')
      for (const field of ['created_at', 'started_at', 'finished_at']) expect(Number.isNaN(Date.parse(job.body[field]))).toBe(false)
      expect(Date.parse(job.body.finished_at)).toBeGreaterThanOrEqual(Date.parse(job.body.started_at))
      expect(job.body.output).toMatchObject({ partial: false, dropped: [], synthesis_by: 'chair' })

      const results = await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })
      expect(results.status).toBe(200)
      const r = results.body
      expect(r).toMatchObject({ session_id: sessionId, status: 'succeeded', partial: false, dropped: [] })

      // Drafts: one per member, each with content, tokens, cost.
      expect(r.drafts.map((d: any) => d.agent).sort()).toEqual(MEMBERS)
      for (const draft of r.drafts) {
        expect(draft.content.length).toBeGreaterThan(50)
        expect(draft.content).toContain(question)
        expect(draft.model).toBe('offline-small')
        expect(draft.tokens.input).toBeGreaterThan(0)
        expect(draft.tokens.output).toBeGreaterThan(0)
        expect(draft.cost_usd).toBeGreaterThan(0)
      }
      expect(new Set(r.drafts.map((d: any) => d.content)).size).toBe(3)

      // Reviews: each member ranks the other two drafts, under two labels, never its own.
      expect(r.reviews.map((review: any) => review.reviewer).sort()).toEqual(MEMBERS)
      for (const review of r.reviews) {
        expect(Object.keys(review.label_map).sort()).toEqual(['A', 'B'])
        const seen = Object.values(review.label_map) as string[]
        expect(seen).not.toContain(review.reviewer)
        expect(seen.sort()).toEqual(MEMBERS.filter((name) => name !== review.reviewer))
        expect(review.parse_status).toBe('parsed')
        expect(review.problems).toEqual([])
        expect([...review.ranking_labels].sort()).toEqual(['A', 'B'])
        expect(review.ranking).toEqual(review.ranking_labels.map((label: string) => review.label_map[label]))
        expect(review.critique).toContain('FINAL RANKING')
        // The reviewer saw the drafts anonymised: no agent names in its critique.
        for (const other of MEMBERS) expect(review.critique.toLowerCase()).not.toContain(`${other} `)
      }

      // Leaderboard: the aggregate of exactly those reviews.
      expect(r.leaderboard.map((entry: any) => entry.position)).toEqual([1, 2, 3])
      expect(r.leaderboard.map((entry: any) => entry.agent).sort()).toEqual(MEMBERS)
      expect(r.leaderboard).toEqual(
        aggregateRankings(
          r.reviews.map((review: any) => ({ reviewer: review.reviewer, ranking: review.ranking })),
          r.drafts.map((d: any) => d.agent),
        ),
      )
      for (const entry of r.leaderboard) expect(entry.votes).toBe(2)
      expect(r.leaderboard.reduce((sum: number, entry: any) => sum + entry.borda, 0)).toBe(3)

      // Synthesis by the chair.
      expect(r.synthesis.agent).toBe('chair')
      expect(r.synthesis.model).toBe('offline-large')
      expect(r.synthesis.content).toContain("The council's answer")
      expect(r.synthesis.content).toContain(`The strongest draft came from ${r.leaderboard[0].agent}`)

      // Stages: calls, tokens and cost per stage; totals are their sum and the session's figures.
      expect(r.stages.draft.calls).toBe(3)
      expect(r.stages.review.calls).toBe(3)
      expect(r.stages.synthesis.calls).toBe(1)
      for (const stage of ['draft', 'review', 'synthesis']) {
        expect(r.stages[stage].tokens).toBeGreaterThan(0)
        expect(r.stages[stage].cost_usd).toBeGreaterThan(0)
      }
      const stageTokens = Object.values(r.stages as Record<string, { tokens: number }>).reduce((sum, s) => sum + s.tokens, 0)
      expect(r.totals.tokens.total).toBe(stageTokens)
      expect(r.totals.tokens.total).toBe(r.totals.tokens.input + r.totals.tokens.output)

      const summary = await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })
      expect(summary.body).toMatchObject({ status: 'succeeded', stage: 'synthesis', partial: false, error: null })
      expect(summary.body.tokens).toEqual(r.totals.tokens)
      expect(summary.body.cost_usd).toBeCloseTo(r.totals.cost_usd, 9)
      expect(summary.body.cost_usd).toBeGreaterThan(0)

      // Durable stages: exactly one stored output per (stage, agent), aggregate included.
      const rows = await outputRows(t, sessionId)
      expect(rows.every((row) => row.status === 'ok' && row.jobId === jobId)).toBe(true)
      expect(rows.map((row) => `${row.stage}:${row.agent}`).sort()).toEqual(
        ['aggregate:*', 'synthesis:chair', ...MEMBERS.map((m) => `draft:${m}`), ...MEMBERS.map((m) => `review:${m}`)].sort(),
      )
    })
  })
}

// ---------------------------------------------------------------------------

describe('around a finished council (sqlite)', () => {
  const app = useApp('sqlite')
  const owner = freshUser('owner')
  const stranger = freshUser('stranger')
  let finished: Promise<Awaited<ReturnType<typeof startCouncil>>> | undefined
  /** One finished council shared by the tests below. */
  const done = () =>
    (finished ??= (async () => {
      const started = await startCouncil(app(), owner)
      await idle(app())
      return started
    })())

  test('running it again → 409 already_completed', async () => {
    const { sessionId } = await done()
    const again = await app().json('POST', `/api/v1/sessions/${sessionId}/run`, { user: owner })
    expectErrorShape(expect, again, 409, 'already_completed')
  })

  test('another user gets 404 for the run, the job, its logs, its cancel and the results', async () => {
    const t = app()
    const { sessionId, jobId } = await done()
    expectErrorShape(expect, await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user: stranger }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/jobs/${jobId}`, { user: stranger }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/jobs/${jobId}/logs`, { user: stranger }), 404, 'not_found')
    expectErrorShape(expect, await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user: stranger }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user: stranger }), 404, 'not_found')
    const page = await t.call('GET', `/jobs/${jobId}/logs`, { user: stranger, headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    expect(await page.text()).not.toContain(jobId)
  })

  test('job logs: ts, level, msg, job_id, request_id of the run request, stage', async () => {
    const { jobId, requestId } = await done()
    const logs = await app().json('GET', `/api/v1/jobs/${jobId}/logs?limit=200`, { user: owner })
    expect(logs.status).toBe(200)
    const items = logs.body.items as any[]
    expect(items.length).toBeGreaterThanOrEqual(8)
    expect(logs.body.next_cursor).toBeNull()
    for (const line of items) {
      for (const key of ['ts', 'level', 'msg', 'job_id', 'request_id', 'stage']) expect(line).toHaveProperty(key)
      expect(Number.isNaN(Date.parse(line.ts))).toBe(false)
      expect(['info', 'warn', 'error']).toContain(line.level)
      expect(line.job_id).toBe(jobId)
      expect(line.request_id).toBe(requestId)
    }
    const msgs = items.map((line) => line.msg)
    expect(msgs[0]).toBe('job started')
    expect(msgs).toContain('council finished')
    for (const stage of ['draft', 'review', 'aggregate', 'synthesis']) {
      expect(msgs).toContain(`stage ${stage} started`)
      expect(items.find((line) => line.msg === `stage ${stage} started`).stage).toBe(stage)
    }
    for (const agent of MEMBERS) {
      const drafted = items.find((line) => line.msg === `draft by ${agent} finished`)
      expect(drafted?.stage).toBe('draft')
      expect(drafted?.data?.tokens_in).toBeGreaterThan(0)
    }
    // Time order.
    const times = items.map((line) => Date.parse(line.ts))
    expect([...times].sort((a, b) => a - b)).toEqual(times)
  })

  test('job logs paginate: limit=2 walks every line once, in order', async () => {
    const { jobId } = await done()
    const all = (await app().json('GET', `/api/v1/jobs/${jobId}/logs?limit=200`, { user: owner })).body.items as any[]
    const walked: any[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const path: string = `/api/v1/jobs/${jobId}/logs?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const page = await app().json('GET', path, { user: owner })
      expect(page.status).toBe(200)
      expect(page.body.limit).toBe(2)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      walked.push(...page.body.items)
      cursor = page.body.next_cursor
      if (++pages > 100) throw new Error('pagination does not end')
    } while (cursor)
    expect(pages).toBe(Math.ceil(all.length / 2))
    expect(walked).toEqual(all)
  })

  test('the session page shows the synthesis and links to the job logs; the logs page renders the lines', async () => {
    const t = app()
    const { sessionId, jobId } = await done()
    const page = await t.call('GET', `/sessions/${sessionId}`, { user: owner, headers: { accept: 'text/html' } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    const html = await page.text()
    expect(html).toContain('id="synthesis"')
    expect(html).toContain('Synthesised by Chair')
    expect(html).toContain('Where the council disagreed')
    expect(html).toContain(`href="/jobs/${jobId}/logs"`)
    expect(html).toContain('id="leaderboard"')
    // A finished job's page does not poll.
    expect(html).not.toContain(`hx-get="/sessions/${sessionId}/progress"`)

    const logsPage = await t.call('GET', `/jobs/${jobId}/logs`, { user: owner, headers: { accept: 'text/html' } })
    expect(logsPage.status).toBe(200)
    expect(logsPage.headers.get('content-type')).toContain('text/html')
    const logsHtml = await logsPage.text()
    expect(logsHtml).toContain('id="job-logs"')
    expect(logsHtml).toContain('class="log-line info"')
    expect(logsHtml).toContain('job started')
    expect(logsHtml).toContain('council finished')
    expect(logsHtml).toContain(`href="/sessions/${sessionId}"`)
  })

  test('/readyz reports the inline queue and an in-process worker as ok', async () => {
    const ready = await app().json('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.components.queue).toMatchObject({ status: 'ok', backend: 'inline' })
    expect(ready.body.components.worker).toMatchObject({ status: 'ok', in_process: true })
  })
})

// ---------------------------------------------------------------------------

describe('idempotency and conflicts while a council runs (sqlite, 300 ms per call)', () => {
  const app = useApp('sqlite', { LLM_OFFLINE_LATENCY_MS: '300' })

  test('the same Idempotency-Key returns the same job; a second run without it → 409 run_in_progress', async () => {
    const t = app()
    const user = freshUser('idem')
    const key = `run-${crypto.randomUUID()}`
    const { sessionId, jobId } = await startCouncil(t, user, 'Should we adopt a four-day week?', { 'idempotency-key': key })

    const again = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user, headers: { 'idempotency-key': key } })
    expect(again.status).toBe(202)
    expect(again.body.job_id).toBe(jobId)

    const second = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expectErrorShape(expect, second, 409, 'run_in_progress')
    expect(second.body.error.message).toContain(jobId)

    // The key used for another session is a conflict, not a silent reuse.
    const other = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Another question entirely?' } })
    const reused = await t.json('POST', `/api/v1/sessions/${other.body.id}/run`, { user, headers: { 'idempotency-key': key } })
    expectErrorShape(expect, reused, 409, 'idempotency_key_reused')

    await idle(t)
    expect((await getJob(t, user, jobId)).status).toBe('succeeded')
    // After success the key still answers with the same job, not 409.
    const afterwards = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user, headers: { 'idempotency-key': key } })
    expect(afterwards.status).toBe(202)
    expect(afterwards.body.job_id).toBe(jobId)

    const { jobs } = t.deps.db.t
    const rows = await t.deps.db.orm.select().from(jobs).where(eq(jobs.sessionId, sessionId))
    expect(rows).toHaveLength(1)
  })

  test('cancelling a running council: 202, then the job and the session are cancelled; again → 409 job_finished', async () => {
    const t = app()
    const user = freshUser('cancel')
    const { sessionId, jobId } = await startCouncil(t, user, 'Should we sunset the legacy API?')
    await waitForJob(t, user, jobId, (job) => job.status === 'running' && job.stage === 'draft')

    const cancel = await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user })
    expect(cancel.status).toBe(202)
    expect(cancel.body.id).toBe(jobId)
    await idle(t)

    const job = await getJob(t, user, jobId)
    expect(job.status).toBe('cancelled')
    expect(job.finished_at).not.toBeNull()
    const session = await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })
    expect(session.body.status).toBe('cancelled')
    // No synthesis was written after the cancel.
    const rows = await outputRows(t, sessionId)
    expect(rows.filter((row) => row.stage === 'synthesis')).toHaveLength(0)

    expectErrorShape(expect, await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user }), 409, 'job_finished')
  })

  test('cancelling straight after the run request: the job ends cancelled, not queued or running', async () => {
    const t = app()
    const user = freshUser('cancel-early')
    const { sessionId, jobId } = await startCouncil(t, user, 'Should we rename the product?')
    const cancel = await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user })
    expect(cancel.status).toBe(202)
    await idle(t)
    const job = await getJob(t, user, jobId)
    expect(job.status).toBe('cancelled')
    const session = await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })
    expect(session.body.status).toBe('cancelled')
    expectErrorShape(expect, await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user }), 409, 'job_finished')
  })
})

// ---------------------------------------------------------------------------

describe('a partial council: one member’s provider fails (sqlite)', () => {
  const app = useApp('sqlite', { LLM_OFFLINE_FAIL_AGENTS: 'skeptic:rate limited' })

  test('the job succeeds; results and summary say partial and name the dropped member and its error', async () => {
    const t = app()
    const user = freshUser('partial')
    const { sessionId, jobId } = await startCouncil(t, user)
    await idle(t)

    const job = await getJob(t, user, jobId)
    expect(job.status).toBe('succeeded')
    expect(job.output.partial).toBe(true)
    expect(job.output.synthesis_by).toBe('chair')

    const r = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(r.partial).toBe(true)
    expect(r.dropped).toHaveLength(1)
    expect(r.dropped[0]).toMatchObject({ agent: 'skeptic', stage: 'draft' })
    expect(r.dropped[0].error).toContain('rate limited')
    expect(r.drafts.map((d: any) => d.agent).sort()).toEqual(['analyst', 'pragmatist'])
    // The two remaining members review each other's draft only.
    expect(r.reviews.map((review: any) => review.reviewer).sort()).toEqual(['analyst', 'pragmatist'])
    for (const review of r.reviews) {
      expect(Object.values(review.label_map)).toEqual([review.reviewer === 'analyst' ? 'pragmatist' : 'analyst'])
      expect(review.parse_status).toBe('parsed')
    }
    expect(r.leaderboard.map((entry: any) => entry.agent).sort()).toEqual(['analyst', 'pragmatist'])
    expect(r.synthesis.agent).toBe('chair')

    const summary = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(summary.status).toBe('succeeded')
    expect(summary.partial).toBe(true)
    expect(summary.error).toContain('skeptic')

    const page = await (await t.call('GET', `/sessions/${sessionId}`, { user, headers: { accept: 'text/html' } })).text()
    expect(page).toContain('id="partial-notice"')
    expect(page).toContain('rate limited')
  })
})

describe('quorum: two of three members fail (sqlite)', () => {
  const app = useApp('sqlite', { LLM_OFFLINE_FAIL_AGENTS: 'skeptic:down,pragmatist:down' })

  test('the job fails naming the quorum and both agents, without retrying; the session fails', async () => {
    const t = app()
    const user = freshUser('quorum')
    const { sessionId, jobId } = await startCouncil(t, user)
    await idle(t)

    const job = await getJob(t, user, jobId)
    expect(job.status).toBe('failed')
    expect(job.error).toContain('Quorum')
    expect(job.error).toContain('skeptic')
    expect(job.error).toContain('pragmatist')
    expect(job.error).toContain('down')
    // The offline failure is not retryable: one attempt only.
    expect(job.attempts).toBe(1)
    expect(job.finished_at).not.toBeNull()

    const summary = (await t.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(summary.status).toBe('failed')
    expect(summary.error).toContain('Quorum')

    const r = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(r.drafts.map((d: any) => d.agent)).toEqual(['analyst'])
    expect(r.synthesis).toBeNull()
    expect(r.reviews).toEqual([])
    expect(r.dropped.map((d: any) => d.agent).sort()).toEqual(['pragmatist', 'skeptic'])

    const logs = (await t.json('GET', `/api/v1/jobs/${jobId}/logs?limit=200`, { user })).body.items as any[]
    const failed = logs.find((line) => line.msg === 'job failed')
    expect(failed?.level).toBe('error')
  })
})

describe('chair fallback: the chair’s provider fails (sqlite)', () => {
  const app = useApp('sqlite', { LLM_OFFLINE_FAIL_AGENTS: 'chair:down' })

  test('the top agent of the leaderboard writes the synthesis and the chair is listed as dropped', async () => {
    const t = app()
    const user = freshUser('chairless')
    const { sessionId, jobId } = await startCouncil(t, user)
    await idle(t)

    const job = await getJob(t, user, jobId)
    expect(job.status).toBe('succeeded')
    const r = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(r.leaderboard).toHaveLength(3)
    expect(r.synthesis.agent).toBe(r.leaderboard[0].agent)
    expect(r.synthesis.agent).not.toBe('chair')
    expect(job.output.synthesis_by).toBe(r.leaderboard[0].agent)
    expect(r.dropped).toEqual([{ agent: 'chair', stage: 'synthesis', error: 'offline: down' }])
    expect(r.partial).toBe(true)
    expect(r.drafts).toHaveLength(3)
  })
})

// ---------------------------------------------------------------------------

describe('durable stages: attempt 1 fails in the synthesis, attempt 2 resumes (sqlite, JOBS_ATTEMPTS=2)', () => {
  // Attempt 1: every synthesis call (the chair, then each fallback) fails with a retryable error.
  const { llm, calls } = flakyLlm((stage, nth) => stage === 'synthesis' && nth <= 4)
  const user = freshUser('resume')
  let t: TestApp | undefined
  let ran: Awaited<ReturnType<typeof startCouncil>> | undefined
  beforeAll(async () => {
    t = await buildSqliteApp({ JOBS_ATTEMPTS: '2' }, llm)
    ran = await startCouncil(t, user)
    await idle(t)
  })
  afterAll(async () => {
    await t?.close()
  })

  test('the job succeeds on attempt 2 without repeating a draft or a review', async () => {
    const { sessionId, jobId } = ran!
    const job = await getJob(t!, user, jobId)
    expect(job.status).toBe('succeeded')
    expect(job.attempts).toBe(2)
    expect(calls).toEqual({ draft: 3, review: 3, synthesis: 5 })

    const rows = await outputRows(t!, sessionId)
    for (const agent of MEMBERS) {
      expect(rows.filter((row) => row.stage === 'draft' && row.agent === agent)).toHaveLength(1)
      expect(rows.filter((row) => row.stage === 'review' && row.agent === agent)).toHaveLength(1)
    }
    expect(rows.filter((row) => row.stage === 'aggregate')).toHaveLength(1)
    expect(rows.filter((row) => row.stage === 'synthesis' && row.status === 'ok').map((row) => row.agent)).toEqual(['chair'])

    const logs = (await t!.json('GET', `/api/v1/jobs/${jobId}/logs?limit=200`, { user })).body.items as any[]
    const msgs = logs.map((line) => line.msg)
    expect(msgs).toContain('attempt failed; will retry')
    expect(msgs).toContain('attempt 2 of 2 started')
    expect(msgs).toContain('resuming from stored outputs')

    const r = (await t!.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(r.synthesis.agent).toBe('chair')
    expect(r.drafts).toHaveLength(3)
    expect(r.reviews).toHaveLength(3)
    const summary = (await t!.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    expect(summary).toMatchObject({ status: 'succeeded', partial: false, error: null })
  })

  test('the results of a council completed on retry are not partial, like the session summary says', async () => {
    const { sessionId } = ran!
    const summary = (await t!.json('GET', `/api/v1/sessions/${sessionId}`, { user })).body
    const r = (await t!.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    // Fallback candidates that were tried in attempt 1 never chaired; they dropped out of nothing.
    expect(r.dropped).toEqual([])
    expect(r.partial).toBe(summary.partial)
    expect(r.partial).toBe(false)
  })
})

describe('durable stages: a retryable review failure (sqlite, JOBS_ATTEMPTS=2)', () => {
  test('a retryable failure of the first review call is retried: the job succeeds on attempt 2 with every review, drafts not repeated', async () => {
    const { llm, calls } = flakyLlm((stage, nth) => stage === 'review' && nth === 1)
    const t = await buildSqliteApp({ JOBS_ATTEMPTS: '2' }, llm)
    try {
      const user = freshUser('resume-review')
      const { sessionId, jobId } = await startCouncil(t, user)
      await idle(t)

      const job = await getJob(t, user, jobId)
      expect(job.status).toBe('succeeded')
      const rows = await outputRows(t, sessionId)
      for (const agent of MEMBERS) expect(rows.filter((row) => row.stage === 'draft' && row.agent === agent)).toHaveLength(1)
      expect(calls.draft).toBe(3)

      expect(job.attempts).toBe(2)
      const r = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
      expect(r.reviews.map((review: any) => review.reviewer).sort()).toEqual(MEMBERS)
      expect(r.partial).toBe(false)
      expect(calls.review).toBe(4)
    } finally {
      await t.close()
    }
  })
})

