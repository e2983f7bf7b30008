/**
 * The council on the in-process runner (JOBS_BACKEND=inline), driven through
 * the API on the run's dialect: a full run and its results, owner scoping,
 * job logs, the session and logs pages, /readyz. Failures, cancellation and
 * resume: council-failures.test.ts; councils finishing together:
 * council-batch.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { aggregateRankings } from '../../src/council/aggregate'
import { idle, MEMBERS, outputRows, startCouncil } from './council-support'
import { DIALECT, expectErrorShape, freshUser, useApp } from './support'

describe(`a council run on the in-process runner (${DIALECT})`, () => {
  const app = useApp()

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

// ---------------------------------------------------------------------------

describe(`around a finished council (${DIALECT})`, () => {
  const app = useApp()
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
