/**
 * The council on the in-process runner when things go wrong: idempotency and
 * conflicts while it runs, cancellation, a partial council, quorum, chair
 * fallback, and durable stages resumed on retry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { flakyLlm, getJob, idle, MEMBERS, outputRows, startCouncil, waitForJob } from './council-support'
import { DIALECT, expectErrorShape, freshUser, useApp, userIdOf } from './support'

describe(`idempotency and conflicts while a council runs (${DIALECT}, 300 ms per call)`, () => {
  const app = useApp({ LLM_OFFLINE_LATENCY_MS: '300' })

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

    const jobs = await t.deps.stores.jobs.page(await userIdOf(t, user), null, 200)
    const rows = jobs.filter((job) => job.sessionId === sessionId)
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

describe(`a partial council: one member’s provider fails (${DIALECT})`, () => {
  const app = useApp({ LLM_OFFLINE_FAIL_AGENTS: 'skeptic:rate limited' })

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

describe(`quorum: two of three members fail (${DIALECT})`, () => {
  const app = useApp({ LLM_OFFLINE_FAIL_AGENTS: 'skeptic:down,pragmatist:down' })

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

describe(`chair fallback: the chair’s provider fails (${DIALECT})`, () => {
  const app = useApp({ LLM_OFFLINE_FAIL_AGENTS: 'chair:down' })

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

describe(`durable stages: attempt 1 fails in the synthesis, attempt 2 resumes (${DIALECT}, JOBS_ATTEMPTS=2)`, () => {
  // Attempt 1: every synthesis call (the chair, then each fallback) fails with a retryable error.
  const { llm, calls } = flakyLlm((stage, nth) => stage === 'synthesis' && nth <= 4)
  const user = freshUser('resume')
  let t: TestApp | undefined
  let ran: Awaited<ReturnType<typeof startCouncil>> | undefined
  beforeAll(async () => {
    t = await buildTestApp({ JOBS_ATTEMPTS: '2' }, { llm })
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

describe(`durable stages: a retryable review failure (${DIALECT}, JOBS_ATTEMPTS=2)`, () => {
  test('a retryable failure of the first review call is retried: the job succeeds on attempt 2 with every review, drafts not repeated', async () => {
    const { llm, calls } = flakyLlm((stage, nth) => stage === 'review' && nth === 1)
    const t = await buildTestApp({ JOBS_ATTEMPTS: '2' }, { llm })
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


describe(`stage writes while the stage runs (${DIALECT})`, () => {
  const app = useApp({ LLM_OFFLINE_LATENCY_MS: '30', JOBS_ATTEMPTS: '1' })

  test('a stage write that fails still fails the attempt; a slow one lands before the job is marked finished', async () => {
    const t = app()
    const jobs = t.deps.stores.jobs
    const original = jobs.progress
    try {
      jobs.progress = async (id, fields) => {
        if (fields.stage === 'review') throw new Error('progress write refused')
        return original.call(jobs, id, fields)
      }
      const failing = await startCouncil(t, freshUser('stage-write'))
      await idle(t)
      const failed = await jobs.find(failing.jobId)
      expect(failed).toMatchObject({ status: 'failed' })
      expect(failed!.error).toContain('progress write refused')

      jobs.progress = async (id, fields) => {
        if (fields.stage === 'synthesis') await Bun.sleep(300) // the synthesis call (30 ms) is long done by then
        return original.call(jobs, id, fields)
      }
      const slow = await startCouncil(t, freshUser('stage-slow'))
      await idle(t)
      const done = await jobs.find(slow.jobId)
      expect(done).toMatchObject({ status: 'succeeded', stage: 'synthesis', progress: 100 })
    } finally {
      jobs.progress = original
    }
  })
})
