/** The job store's contract, on libsql and on PostgreSQL (where the root store shares statements between concurrent callers). */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { JobLogRow, JobRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const job = (fields: Partial<JobRow> = {}): JobRow => ({
  id: newId(),
  kind: 'council',
  userId: `user-${newId()}`,
  sessionId: newId(),
  status: 'queued',
  stage: null,
  progress: 0,
  requestId: 'req-1',
  role: 'user',
  idempotencyKey: null,
  input: null,
  output: null,
  error: null,
  attempts: 0,
  cancelRequested: false,
  createdAt: new Date(),
  startedAt: null,
  finishedAt: null,
  heartbeatAt: null,
  ...fields,
})

const line = (jobId: string, msg: string, fields: Partial<JobLogRow> = {}): JobLogRow => ({
  id: newId(),
  jobId,
  ts: new Date(),
  level: 'info',
  msg,
  requestId: 'req-1',
  stage: null,
  data: null,
  ...fields,
})

eachDialect('job store', (use, dialect) => {
  const inserted = async (fields: Partial<JobRow> = {}) => {
    const row = job(fields)
    await use().stores.jobs.insert(row)
    return row
  }
  const read = async (id: string) => (await use().stores.jobs.find(id))!

  test("everyone's jobs for the admin list: by status, newest first, paged by id, with the owner's email and without input or output", async () => {
    const { stores } = use()
    const userId = newId()
    await stores.identity.insertUser({ id: userId, externalId: `ext-${userId}`, email: `owner-${userId}@example.com`, displayName: null, createdAt: new Date(), lastSeenAt: null, deletedAt: null })
    const mine = []
    for (const status of ['queued', 'running', 'failed', 'succeeded']) mine.push(await inserted({ userId, status, input: { question: 'secret' }, output: { answer: 'secret' } }))
    const orphan = await inserted({ status: 'failed' })
    const ours = <R extends { userId: string }>(rows: R[]) => rows.filter((row) => row.userId === userId || row.userId === orphan.userId)
    const all = ours(await stores.jobs.everyone(['queued', 'running', 'failed'], null, 1000))
    expect(all.map((row) => row.id)).toEqual([orphan.id, mine[2]!.id, mine[1]!.id, mine[0]!.id])
    expect(all[1]).toEqual({
      id: mine[2]!.id, kind: 'council', userId, sessionId: mine[2]!.sessionId, status: 'failed', stage: null, progress: 0, requestId: 'req-1', role: 'user',
      attempts: 0, cancelRequested: false, error: null, createdAt: mine[2]!.createdAt, startedAt: null, finishedAt: null, heartbeatAt: null, email: `owner-${userId}@example.com`,
    })
    expect(all[0]!.email).toBeNull()
    expect(ours(await stores.jobs.everyone(['failed'], null, 1000)).map((row) => row.id)).toEqual([orphan.id, mine[2]!.id])
    expect(ours(await stores.jobs.everyone([], null, 1000)).map((row) => row.status)).toEqual(['failed', 'succeeded', 'failed', 'running', 'queued'])
    // A page after a cursor holds only older ids.
    expect(ours(await stores.jobs.everyone(['queued', 'running', 'failed'], mine[2]!.id, 1000)).map((row) => row.id)).toEqual([mine[1]!.id, mine[0]!.id])
  })

  test('a stored job reads back equal: by id, for its owner, by idempotency key, as its session’s latest and active job', async () => {
    const { stores } = use()
    const row = await inserted({ idempotencyKey: 'key-1', input: { agent: 'analyst', input: 'Hi «there»' } })
    expect(await stores.jobs.find(row.id)).toEqual(row)
    expect(await stores.jobs.find(newId())).toBeUndefined()
    expect(await stores.jobs.findOwned(row.id, row.userId)).toEqual(row)
    expect(await stores.jobs.findOwned(row.id, 'someone-else')).toBeUndefined()
    expect(await stores.jobs.findByIdempotencyKey(row.userId, 'key-1')).toEqual(row)
    expect(await stores.jobs.latestForSession(row.sessionId!)).toEqual(row)
    expect(await stores.jobs.activeForSession(row.sessionId!)).toEqual({ id: row.id })
    expect(await stores.jobs.unfinished()).toContain(row.id)
  })

  test('activeForSession asked for many sessions at once (shared statements): each gets its own unfinished job or none', async () => {
    const { stores } = use()
    const rows = await Promise.all(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((status) => inserted({ status })))
    const answers = await Promise.all([...rows.map((row) => stores.jobs.activeForSession(row.sessionId!)), stores.jobs.activeForSession(newId())])
    expect(answers).toEqual([{ id: rows[0]!.id }, { id: rows[1]!.id }, undefined, undefined, undefined, undefined])
  })

  test('claim: marks a queued job running for the attempt; first start stamps started_at; a cancelled or finished job is not claimed', async () => {
    const { stores } = use()
    const row = await inserted({ error: 'previous attempt failed' })
    expect(await stores.jobs.claim(row.id, 1, true)).toBe(true)
    const first = await read(row.id)
    expect(first).toMatchObject({ status: 'running', attempts: 1, error: null })
    expect(first.startedAt).toBeInstanceOf(Date)
    expect(first.heartbeatAt).toBeInstanceOf(Date)
    expect(await stores.jobs.claim(row.id, 2, false)).toBe(true)
    expect(await read(row.id)).toMatchObject({ attempts: 2, startedAt: first.startedAt })

    const flagged = await inserted({ cancelRequested: true })
    expect(await stores.jobs.claim(flagged.id, 1, true)).toBe(false)
    expect(await read(flagged.id)).toEqual(flagged)
    const done = await inserted({ status: 'succeeded' })
    expect(await stores.jobs.claim(done.id, 1, true)).toBe(false)
    expect(await stores.jobs.claim(newId(), 1, true)).toBe(false)
  })

  test('many claims at once each get their own answer (one statement per attempt number on PostgreSQL)', async () => {
    const { stores } = use()
    const rows = await Promise.all(Array.from({ length: 30 }, (_, i) => inserted({ cancelRequested: i % 5 === 0 })))
    const claimed = await Promise.all(rows.map((row, i) => stores.jobs.claim(row.id, 1 + (i % 2), true)))
    expect(claimed).toEqual(rows.map((_, i) => i % 5 !== 0))
    const after = await Promise.all(rows.map((row) => read(row.id)))
    expect(after.map((row) => row.status)).toEqual(rows.map((_, i) => (i % 5 === 0 ? 'queued' : 'running')))
    expect(after.filter((_, i) => i % 5 !== 0).map((row) => row.attempts)).toEqual(rows.map((_, i) => 1 + (i % 2)).filter((_, i) => i % 5 !== 0))
  })

  test('progress: many writes at once each land on their own job, the stage only where given', async () => {
    const { stores } = use()
    const rows = await Promise.all(Array.from({ length: 20 }, () => inserted({ status: 'running', stage: 'draft' })))
    await Promise.all(rows.map((row, i) => stores.jobs.progress(row.id, i % 2 ? { stage: 'review', progress: 40 + i } : { progress: i })))
    const after = await Promise.all(rows.map((row) => read(row.id)))
    expect(after.map((row) => [row.stage, row.progress])).toEqual(rows.map((_, i) => (i % 2 ? ['review', 40 + i] : ['draft', i])))
  })

  test('transitions: succeeded, failed, cancelled and back to queued write what the contract says', async () => {
    const { stores } = use()
    const at = new Date(Date.now() - 1000)
    const won = await inserted({ status: 'running', stage: 'synthesis', progress: 88, error: 'old' })
    expect(await stores.jobs.transition(won.id, { to: 'succeeded', at, output: { partial: false, dropped: [], text: 'ünïcode "quoted"' } })).toBe(true)
    expect(await read(won.id)).toEqual({ ...won, status: 'succeeded', progress: 100, finishedAt: at, error: null, output: { partial: false, dropped: [], text: 'ünïcode "quoted"' } })

    const agent = await inserted({ kind: 'agent', sessionId: null, status: 'running' })
    expect(await stores.jobs.transition(agent.id, { to: 'succeeded', at, output: { content: 'x' }, stage: 'agent' })).toBe(true)
    expect(await read(agent.id)).toMatchObject({ status: 'succeeded', stage: 'agent', progress: 100 })

    const lost = await inserted({ status: 'running', progress: 40 })
    expect(await stores.jobs.transition(lost.id, { to: 'failed', at, error: 'Quorum not met' })).toBe(true)
    expect(await read(lost.id)).toEqual({ ...lost, status: 'failed', finishedAt: at, error: 'Quorum not met' })

    const stopped = await inserted({ status: 'running', error: 'flaky' })
    expect(await stores.jobs.transition(stopped.id, { to: 'cancelled', at })).toBe(true)
    expect(await read(stopped.id)).toEqual({ ...stopped, status: 'cancelled', finishedAt: at, error: null })

    const retried = await inserted({ status: 'running', progress: 40 })
    expect(await stores.jobs.transition(retried.id, { to: 'queued', error: 'HTTP 503' })).toBe(true)
    expect(await read(retried.id)).toEqual({ ...retried, status: 'queued', error: 'HTTP 503' })
  })

  test('a finished job never changes state again; a missing one is not moved', async () => {
    const { stores } = use()
    const at = new Date()
    for (const status of ['succeeded', 'failed', 'cancelled']) {
      const row = await inserted({ status, finishedAt: at, output: { kept: true } })
      expect(await stores.jobs.transition(row.id, { to: 'cancelled', at: new Date() })).toBe(false)
      expect(await stores.jobs.transition(row.id, { to: 'queued', error: 'again' })).toBe(false)
      expect(await stores.jobs.transition(row.id, { to: 'succeeded', at: new Date(), output: {} })).toBe(false)
      expect(await read(row.id)).toEqual(row)
    }
    expect(await stores.jobs.transition(newId(), { to: 'failed', at, error: 'x' })).toBe(false)
  })

  test('many transitions at once (one batch statement on PostgreSQL) each land on their own job with their own values', async () => {
    const { stores } = use()
    const rows = await Promise.all(Array.from({ length: 24 }, () => inserted({ status: 'running', stage: 'synthesis', progress: 88 })))
    const finished = await inserted({ status: 'succeeded', output: { first: true } })
    const base = Date.now()
    const moved = await Promise.all([
      ...rows.map((row, i) =>
        i % 3 === 0
          ? stores.jobs.transition(row.id, { to: 'succeeded', at: new Date(base + i), output: { n: i } })
          : i % 3 === 1
            ? stores.jobs.transition(row.id, { to: 'failed', at: new Date(base + i), error: `error ${i}` })
            : stores.jobs.transition(row.id, { to: 'queued', error: `retry ${i}` }),
      ),
      stores.jobs.transition(finished.id, { to: 'succeeded', at: new Date(), output: { second: true } }),
    ])
    expect(moved).toEqual([...rows.map(() => true), false])
    const after = await Promise.all(rows.map((row) => read(row.id)))
    after.forEach((row, i) => {
      if (i % 3 === 0) expect(row).toMatchObject({ status: 'succeeded', progress: 100, output: { n: i }, error: null, finishedAt: new Date(base + i) })
      else if (i % 3 === 1) expect(row).toMatchObject({ status: 'failed', progress: 88, output: null, error: `error ${i}`, finishedAt: new Date(base + i) })
      else expect(row).toMatchObject({ status: 'queued', progress: 88, error: `retry ${i}`, finishedAt: null })
      expect(row.stage).toBe('synthesis')
    })
    expect((await read(finished.id)).output).toEqual({ first: true })
  })

  test('a failure may carry an output (what kind of failure), alone or in a batch', async () => {
    const { stores } = use()
    const rows = await Promise.all(Array.from({ length: 4 }, () => inserted({ status: 'running' })))
    await Promise.all(
      rows.map((row, i) => stores.jobs.transition(row.id, { to: 'failed', at: new Date(), error: `e${i}`, output: i % 2 ? { failure: 'permanent' } : undefined })),
    )
    const after = await Promise.all(rows.map((row) => read(row.id)))
    expect(after.map((row) => row.output)).toEqual([null, { failure: 'permanent' }, null, { failure: 'permanent' }])
    const single = await inserted({ status: 'running' })
    await stores.jobs.transition(single.id, { to: 'failed', at: new Date(), error: 'x', output: { failure: 'budget' } })
    expect((await read(single.id)).output).toEqual({ failure: 'budget' })
  })

  test('a transition the database refuses fails its own job only; the others that went together still move', async () => {
    const { stores } = use()
    const rows = await Promise.all(Array.from({ length: 8 }, () => inserted({ status: 'running' })))
    // PostgreSQL refuses \u0000 in jsonb (the batch fails, then each row is written alone); libsql stores it.
    const settled = await Promise.allSettled(
      rows.map((row, i) => stores.jobs.transition(row.id, { to: 'succeeded', at: new Date(), output: { text: i === 3 ? 'nul \u0000 here' : `fine ${i}` } })),
    )
    settled.forEach((result, i) => {
      if (i !== 3) expect(result).toEqual({ status: 'fulfilled', value: true })
    })
    if (dialect === 'pg') expect(settled[3]!.status).toBe('rejected')
    const after = await Promise.all(rows.map((row) => read(row.id)))
    expect(after.filter((_, i) => i !== 3).every((row) => row.status === 'succeeded')).toBe(true)
  })

  test('heartbeat stamps every given job and names those whose cancel was requested', async () => {
    const { stores } = use()
    const calm = await inserted({ status: 'running' })
    const flagged = await inserted({ status: 'running', cancelRequested: true })
    const at = new Date(Date.now() - 5000)
    expect(await stores.jobs.heartbeat([calm.id, flagged.id, newId()], at)).toEqual([flagged.id])
    expect((await read(calm.id)).heartbeatAt).toEqual(at)
    expect((await read(flagged.id)).heartbeatAt).toEqual(at)
    expect(await stores.jobs.heartbeat([], at)).toEqual([])
  })

  test('insertMany stores any number of rows, over several statements, each reading back equal', async () => {
    const { stores } = use()
    const userId = `many-${newId()}`
    const rows = Array.from({ length: 1203 }, (_, i) => job({ userId, requestId: `req-${i}` }))
    await stores.jobs.insertMany(rows)
    await stores.jobs.insertMany([])
    for (const row of [rows[0]!, rows[999]!, rows[1000]!, rows[1202]!]) expect(await stores.jobs.find(row.id)).toEqual(row)
    expect(await stores.jobs.page(userId, null, 2000)).toHaveLength(1203)
  })

  test("page: the user's jobs only, newest first, keyed by id", async () => {
    const { stores } = use()
    const userId = `pager-${newId()}`
    const rows: JobRow[] = []
    for (let i = 0; i < 5; i++) rows.push(await inserted({ userId, kind: i % 2 ? 'agent' : 'council' }))
    await inserted()
    const first = await stores.jobs.page(userId, null, 2)
    expect(first).toEqual([rows[4]!, rows[3]!])
    expect(await stores.jobs.page(userId, rows[3]!.id, 10)).toEqual([rows[2]!, rows[1]!, rows[0]!])
    expect(await stores.jobs.page(`nobody-${newId()}`, null, 10)).toEqual([])
  })

  test('statusCounts counts the jobs in each status, leaving out statuses without any', async () => {
    const { stores } = use()
    const before = await stores.jobs.statusCounts()
    const running = await inserted()
    expect(await stores.jobs.claim(running.id, 1, true)).toBe(true)
    const failed = await inserted()
    expect(await stores.jobs.transition(failed.id, { to: 'failed', at: new Date(), error: 'boom' })).toBe(true)
    await inserted()
    const after = await stores.jobs.statusCounts()
    const delta = (status: string) => (after[status] ?? 0) - (before[status] ?? 0)
    expect([delta('queued'), delta('running'), delta('failed'), delta('succeeded')]).toEqual([1, 1, 1, 0])
    for (const n of Object.values(after)) expect(n).toBeGreaterThan(0)
    expect(Object.values(after).every((n) => typeof n === 'number')).toBe(true)
  })

  test('unfinished lists queued and running jobs only', async () => {
    const { stores } = use()
    const queued = await inserted()
    const runningJob = await inserted({ status: 'running' })
    const done = await inserted({ status: 'failed' })
    const ids = await stores.jobs.unfinished()
    expect(ids).toContain(queued.id)
    expect(ids).toContain(runningJob.id)
    expect(ids).not.toContain(done.id)
  })

  test('log lines: appended in batches of any size, read back in order one page at a time, exactly as given', async () => {
    const { stores } = use()
    const jobId = newId()
    // Lines are ordered by id, and ids follow creation order.
    const first = line(jobId, 'first')
    const special = line(jobId, 'quotes \' " and ünïcode', { level: 'warn', stage: 'draft', requestId: null, data: { nested: { list: [1, 'två'] } } })
    await stores.jobs.appendLogs([first])
    await stores.jobs.appendLogs([special])
    // Over one chunk (1,000 lines per insert), so the chunking shows.
    const many = Array.from({ length: 2500 }, (_, i) => line(jobId, `line ${i}`, { stage: i % 2 ? 'review' : null }))
    await stores.jobs.appendLogs(many)
    await stores.jobs.appendLogs([])
    await stores.jobs.appendLogs([line(newId(), 'another job')])

    const all = await stores.jobs.logs(jobId, null, 5000)
    expect(all).toHaveLength(2502)
    expect(all.slice(0, 2)).toEqual([first, special])
    expect(all.slice(2)).toEqual(many)
    const page = await stores.jobs.logs(jobId, all[9]!.id, 3)
    expect(page).toEqual(all.slice(10, 13))
  })

  test('concurrent log batches all land', async () => {
    const { stores } = use()
    const jobIds = Array.from({ length: 10 }, () => newId())
    await Promise.all(jobIds.map((jobId) => stores.jobs.appendLogs(Array.from({ length: 30 }, (_, i) => line(jobId, `m${i}`)))))
    for (const jobId of jobIds) expect((await stores.jobs.logs(jobId, null, 100)).map((row) => row.msg)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`))
  })

  test('removeForSession removes the session’s jobs and their lines, and says how many jobs went', async () => {
    const { stores } = use()
    const sessionId = newId()
    const a = await inserted({ sessionId })
    await inserted({ sessionId })
    const other = await inserted()
    await stores.jobs.appendLogs([line(a.id, 'gone'), line(other.id, 'kept')])
    expect(await stores.jobs.removeForSession(sessionId)).toBe(2)
    expect(await stores.jobs.find(a.id)).toBeUndefined()
    expect(await stores.jobs.logs(a.id, null, 10)).toEqual([])
    expect(await stores.jobs.logs(other.id, null, 10)).toHaveLength(1)
  })

  test('removeByIds removes those jobs and their lines only', async () => {
    const { stores } = use()
    const a = await inserted()
    const b = await inserted()
    const kept = await inserted()
    await stores.jobs.appendLogs([line(a.id, 'gone'), line(b.id, 'gone too'), line(kept.id, 'kept')])
    expect(await stores.jobs.removeByIds([a.id, b.id, newId()])).toBe(2)
    expect(await stores.jobs.removeByIds([])).toBe(0)
    expect(await stores.jobs.find(a.id)).toBeUndefined()
    expect(await stores.jobs.logs(b.id, null, 10)).toEqual([])
    expect(await stores.jobs.find(kept.id)).toBeDefined()
    expect(await stores.jobs.logs(kept.id, null, 10)).toHaveLength(1)
  })

  test('writes inside a transaction that throws are rolled back', async () => {
    const { stores } = use()
    const row = job()
    await expect(
      stores.transaction(async (tx) => {
        await tx.jobs.insert(row)
        await tx.jobs.transition(row.id, { to: 'failed', at: new Date(), error: 'x' })
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.jobs.find(row.id)).toBeUndefined()
  })
})
