/** The budget ledger's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId, type Database } from '../../../db/client'
import type { JobRow, LimitRow, StageOutputRow, UserRow } from '../../../db/schema'
import type { Amounts } from '../../../src/modules/budgets/amounts'
import { createLogger } from '../../../plugins/logging/logger'
import { createBudgetMeter } from '../../../src/modules/budgets/meter'
import { createSettlement } from '../../../src/modules/budgets/settlement'
import { alertSent, type ReservationRequest } from '../../../src/modules/budgets/store'
import { eachDialect } from '../../helpers/databases'

const DAY = '2031-01-01'
const LIMITS: Amounts = { tokens: 1_000, cost: 1_000_000 }

const request = (userId: string, worstCase: Amounts, fields: Partial<ReservationRequest> = {}): ReservationRequest => ({
  jobId: newId(),
  userId,
  day: DAY,
  kind: 'council',
  roles: ['user', 'analyst'],
  worstCase,
  at: new Date(),
  limits: LIMITS,
  ...fields,
})

const job = (userId: string, status: string): JobRow => ({
  id: newId(),
  kind: 'agent',
  userId,
  sessionId: null,
  status,
  stage: null,
  progress: 0,
  requestId: null,
  role: null,
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
})

const user = (email: string, fields: Partial<UserRow> = {}): UserRow => ({
  id: newId(),
  externalId: `ext-${newId()}`,
  email,
  displayName: null,
  createdAt: new Date(),
  lastSeenAt: null,
  deletedAt: null,
  ...fields,
})

const output = (jobId: string, agent: string, tokensIn: number, tokensOut: number, costMicroUsd: number): StageOutputRow => ({
  id: newId(),
  runId: jobId,
  sessionId: null,
  jobId,
  stage: 'agent',
  agent,
  status: 'succeeded',
  content: 'ok',
  data: null,
  error: null,
  model: 'offline-small',
  tokensIn,
  tokensOut,
  costMicroUsd,
  durationMs: 1,
  createdAt: new Date(),
})

const limitRow = (scope: string, subject: string, dailyTokens: number | null, dailyCostMicroUsd: number | null = null): LimitRow => {
  const at = new Date()
  return { id: newId(), scope, subject, dailyTokens, dailyCostMicroUsd, updatedBy: 'admin@example.com', createdAt: at, updatedAt: at }
}

/** Rows the ledger reads but other aggregates own, written with the dialect's own tables. */
async function seed(db: Database, rows: { users?: UserRow[]; outputs?: StageOutputRow[] }) {
  const handle = db.handle
  if (handle.dialect === 'pg') {
    if (rows.users?.length) await handle.orm.insert(handle.t.users).values(rows.users)
    if (rows.outputs?.length) await handle.orm.insert(handle.t.stageOutputs).values(rows.outputs)
  } else {
    if (rows.users?.length) await handle.orm.insert(handle.t.users).values(rows.users)
    if (rows.outputs?.length) await handle.orm.insert(handle.t.stageOutputs).values(rows.outputs)
  }
}

eachDialect('budget ledger', (use) => {
  test('a reservation that fits holds its worst case on the day and records the reservation', async () => {
    const ledger = use().stores.budgets
    const userId = newId()
    const first = request(userId, { tokens: 300, cost: 1_000 })
    const second = request(userId, { tokens: 200, cost: 500 }, { kind: 'agent' })
    expect(await ledger.reserve(first)).toEqual({ granted: true })
    expect(await ledger.reserve(second)).toEqual({ granted: true })
    expect(await ledger.usage(userId, DAY)).toMatchObject({ tokensUsed: 0, tokensHeld: 500, costUsedMicroUsd: 0, costHeldMicroUsd: 1_500, alertsSent: 0, roles: ['user', 'analyst'] })
    expect(await ledger.reservation(second.jobId)).toMatchObject({
      jobId: second.jobId,
      userId,
      day: DAY,
      kind: 'agent',
      tokensReserved: 200,
      costReservedMicroUsd: 500,
      tokensUsed: 0,
      costUsedMicroUsd: 0,
      calls: 0,
      settledAt: null,
    })
  })

  test('a reservation that does not fit writes nothing and answers the day as it stands', async () => {
    const ledger = use().stores.budgets
    const fresh = newId()
    const tooBig = request(fresh, { tokens: 1_001, cost: 1 })
    expect(await ledger.reserve(tooBig)).toEqual({ granted: false, day: undefined })
    expect(await ledger.usage(fresh, DAY)).toBeUndefined()
    expect(await ledger.reservation(tooBig.jobId)).toBeUndefined()

    const userId = newId()
    await ledger.reserve(request(userId, { tokens: 600, cost: 600_000 }))
    const before = await ledger.usage(userId, DAY)
    const overTokens = request(userId, { tokens: 401, cost: 1 })
    const overCost = request(userId, { tokens: 1, cost: 400_001 })
    for (const refused of [overTokens, overCost]) {
      expect(await ledger.reserve(refused)).toEqual({ granted: false, day: before })
      expect(await ledger.reservation(refused.jobId)).toBeUndefined()
    }
    expect(await ledger.usage(userId, DAY)).toEqual(before)
    // Exactly up to the limit fits.
    expect(await ledger.reserve(request(userId, { tokens: 400, cost: 400_000 }))).toEqual({ granted: true })
  })

  test('concurrent reservations never take more than the limit', async () => {
    const { stores } = use()
    const userId = newId()
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => stores.transaction((tx) => tx.budgets.reserve(request(userId, { tokens: 300, cost: 10 })))),
    )
    expect(outcomes.filter((outcome) => outcome.granted)).toHaveLength(3)
    expect(await stores.budgets.usage(userId, DAY)).toMatchObject({ tokensHeld: 900, costHeldMicroUsd: 30 })
    expect(await stores.budgets.openReservations([userId], DAY)).toHaveLength(3)
  })

  test('reserveMany decides a burst as reserve() would one after another: a user\'s later requests see the earlier holds', async () => {
    const { stores } = use()
    const [ann, bob, cy] = [newId(), newId(), newId()]
    // Bob already holds 500 of his 1,000.
    await stores.budgets.reserve(request(bob, { tokens: 500, cost: 10 }))
    const burst = [
      request(ann, { tokens: 400, cost: 10 }),
      request(bob, { tokens: 400, cost: 10 }),
      request(ann, { tokens: 400, cost: 10 }),
      request(ann, { tokens: 400, cost: 10 }), // ann's third would pass 1,000
      request(bob, { tokens: 200, cost: 10 }), // bob's second would pass 1,000
      request(cy, { tokens: 1_001, cost: 1 }), // more than the limit on its own
      request(cy, { tokens: 1_000, cost: 1 }), // exactly the limit
      request(ann, { tokens: 200, cost: 10 }), // fits after the refusal
    ]
    const outcomes = await stores.transaction((tx) => tx.budgets.reserveMany(burst))
    expect(outcomes.map((outcome) => outcome.granted)).toEqual([true, true, true, false, false, false, true, true])
    expect(outcomes[4]).toMatchObject({ granted: false, day: { tokensHeld: 900 } })
    expect(outcomes[5]).toEqual({ granted: false, day: undefined })
    expect(await stores.budgets.usage(ann, DAY)).toMatchObject({ tokensHeld: 1_000, costHeldMicroUsd: 30 })
    expect(await stores.budgets.usage(bob, DAY)).toMatchObject({ tokensHeld: 900, costHeldMicroUsd: 20 })
    expect(await stores.budgets.usage(cy, DAY)).toMatchObject({ tokensHeld: 1_000, costHeldMicroUsd: 1 })
    for (const [i, r] of burst.entries())
      expect((await stores.budgets.reservation(r.jobId))?.tokensReserved).toBe(outcomes[i]!.granted ? r.worstCase.tokens : undefined)
  })

  test('reserveMany bursts running at once never take more than the limit', async () => {
    const { stores } = use()
    const userId = newId()
    const bursts = await Promise.all(
      Array.from({ length: 4 }, () => stores.transaction((tx) => tx.budgets.reserveMany(Array.from({ length: 3 }, () => request(userId, { tokens: 300, cost: 10 }))))),
    )
    expect(bursts.flat().filter((outcome) => outcome.granted)).toHaveLength(3)
    expect(await stores.budgets.usage(userId, DAY)).toMatchObject({ tokensHeld: 900, costHeldMicroUsd: 30 })
  })

  test('a reservation made in a transaction that fails is not kept', async () => {
    const { stores } = use()
    const userId = newId()
    const doomed = request(userId, { tokens: 10, cost: 10 })
    await expect(
      stores.transaction(async (tx) => {
        await tx.budgets.reserve(doomed)
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.budgets.usage(userId, DAY)).toBeUndefined()
    expect(await stores.budgets.reservation(doomed.jobId)).toBeUndefined()
  })

  test('open reservations of several users on a day, with their job status (null when the job is gone)', async () => {
    const { stores } = use()
    const [a, b] = [newId(), newId()]
    const running = job(a, 'running')
    await stores.jobs.insert(running)
    const withJob = request(a, { tokens: 1, cost: 1 }, { jobId: running.id })
    const orphan = request(b, { tokens: 2, cost: 2 })
    const otherDay = request(a, { tokens: 3, cost: 3 }, { day: '2031-01-02' })
    for (const r of [withJob, orphan, otherDay]) await stores.budgets.reserve(r)
    const open = await stores.budgets.openReservations([a, b], DAY)
    const byJob = new Map(open.map((entry) => [entry.reservation.jobId, entry.jobStatus]))
    expect(byJob).toEqual(new Map([[withJob.jobId, 'running'], [orphan.jobId, null]]))
    expect(await stores.budgets.openReservations([], DAY)).toEqual([])
    expect(await stores.budgets.jobStatus(running.id)).toBe('running')
    expect(await stores.budgets.jobStatus(newId())).toBeUndefined()
  })

  test('calls add their use to the reservation; once settled, the answer says so and addUse counts on the day', async () => {
    const ledger = use().stores.budgets
    const userId = newId()
    const r = request(userId, { tokens: 500, cost: 5_000 })
    await ledger.reserve(r)
    expect(await ledger.recordCall(r.jobId, { tokens: 120, cost: 700 })).toEqual({ userId, day: DAY, settled: false })
    expect(await ledger.recordCall(r.jobId, { tokens: 30, cost: 300 })).toEqual({ userId, day: DAY, settled: false })
    expect(await ledger.reservation(r.jobId)).toMatchObject({ tokensUsed: 150, costUsedMicroUsd: 1_000, calls: 2 })
    expect(await ledger.recordCall(newId(), { tokens: 1, cost: 1 })).toBeUndefined()

    const claimed = await ledger.claimSettlement(r.jobId, new Date())
    await ledger.closeReservation(claimed!, { used: { tokens: 150, cost: 1_000 }, calls: 2 }, new Date())
    expect(await ledger.recordCall(r.jobId, { tokens: 5, cost: 5 })).toEqual({ userId, day: DAY, settled: true })
    await ledger.addUse(userId, DAY, { tokens: 5, cost: 5 }, new Date())
    expect(await ledger.usage(userId, DAY)).toMatchObject({ tokensUsed: 155, tokensHeld: 0, costUsedMicroUsd: 1_005, costHeldMicroUsd: 0 })
  })

  test('settlement is idempotent: of concurrent claims only the first gets the reservation; closing moves its use into the day', async () => {
    const { stores } = use()
    const userId = newId()
    const settled = request(userId, { tokens: 400, cost: 4_000 })
    const still = request(userId, { tokens: 100, cost: 1_000 })
    await stores.budgets.reserve(settled)
    await stores.budgets.reserve(still)
    await stores.budgets.recordCall(settled.jobId, { tokens: 90, cost: 900 })
    const at = new Date()
    const claims = await Promise.all(Array.from({ length: 6 }, () => stores.transaction((tx) => tx.budgets.claimSettlement(settled.jobId, at))))
    const winners = claims.filter((claim) => claim !== undefined)
    expect(winners).toHaveLength(1)
    expect(winners[0]).toMatchObject({ jobId: settled.jobId, tokensReserved: 400, tokensUsed: 90, calls: 1 })
    expect(winners[0]!.settledAt).toBeInstanceOf(Date)

    // A settlement may find more use than was metered (an agent call's stored output): it is written back.
    await stores.budgets.closeReservation(winners[0]!, { used: { tokens: 250, cost: 2_500 }, calls: 3 }, new Date())
    expect(await stores.budgets.reservation(settled.jobId)).toMatchObject({ tokensUsed: 250, costUsedMicroUsd: 2_500, calls: 3 })
    expect(await stores.budgets.usage(userId, DAY)).toMatchObject({ tokensUsed: 250, tokensHeld: 100, costUsedMicroUsd: 2_500, costHeldMicroUsd: 1_000 })
    expect((await stores.budgets.openReservations([userId], DAY)).map((entry) => entry.reservation.jobId)).toEqual([still.jobId])
    expect(await stores.budgets.claimSettlement(settled.jobId, new Date())).toBeUndefined()
    expect(await stores.budgets.claimSettlement(newId(), new Date())).toBeUndefined()
  })

  test('claimSettlements and closeReservations settle several jobs at once; a day shared by two of them changes by both', async () => {
    const { stores } = use()
    const [a, b] = [newId(), newId()]
    const jobsOf = [request(a, { tokens: 300, cost: 3_000 }), request(a, { tokens: 200, cost: 2_000 }), request(b, { tokens: 100, cost: 1_000 }), request(b, { tokens: 50, cost: 500 })]
    for (const r of jobsOf) await stores.budgets.reserve(r)
    await stores.budgets.recordCall(jobsOf[0]!.jobId, { tokens: 40, cost: 400 })
    await stores.budgets.recordCall(jobsOf[1]!.jobId, { tokens: 60, cost: 600 })
    await stores.budgets.recordCall(jobsOf[2]!.jobId, { tokens: 10, cost: 100 })
    const settling = [jobsOf[0]!.jobId, jobsOf[1]!.jobId, jobsOf[2]!.jobId, newId()]
    const claimed = await stores.transaction(async (tx) => {
      const rows = await tx.budgets.claimSettlements(settling, new Date())
      // One of them used more than was metered (a single-agent call's stored output): written back.
      await tx.budgets.closeReservations(rows.map((row) => ({ claimed: row, final: row.jobId === jobsOf[2]!.jobId ? { used: { tokens: 30, cost: 300 }, calls: 2 } : { used: { tokens: row.tokensUsed, cost: row.costUsedMicroUsd }, calls: row.calls } })), new Date())
      return rows
    })
    expect(claimed.map((row) => row.jobId).sort()).toEqual(settling.slice(0, 3).sort())
    expect(await stores.budgets.claimSettlements(settling, new Date())).toEqual([])
    expect(await stores.budgets.usage(a, DAY)).toMatchObject({ tokensUsed: 100, tokensHeld: 0, costUsedMicroUsd: 1_000, costHeldMicroUsd: 0 })
    expect(await stores.budgets.usage(b, DAY)).toMatchObject({ tokensUsed: 30, tokensHeld: 50, costUsedMicroUsd: 300, costHeldMicroUsd: 500 })
    expect(await stores.budgets.reservation(jobsOf[2]!.jobId)).toMatchObject({ tokensUsed: 30, costUsedMicroUsd: 300, calls: 2 })
    expect((await stores.budgets.openReservations([a, b], DAY)).map((entry) => entry.reservation.jobId)).toEqual([jobsOf[3]!.jobId])
    expect(await stores.budgets.claimSettlements([], new Date())).toEqual([])
  })

  test('settlements asked for at once (councils finishing together) share a transaction: each job settled once, each day exact', async () => {
    const { stores } = use()
    const settlement = createSettlement({ stores, now: () => new Date() })
    const users = [newId(), newId(), newId()]
    const runs = users.flatMap((userId) => [request(userId, { tokens: 100, cost: 1_000 }), request(userId, { tokens: 100, cost: 1_000 })])
    for (const r of runs) await stores.budgets.reserve(r)
    for (const r of runs) await stores.budgets.recordCall(r.jobId, { tokens: 7, cost: 70 })
    const asked = [...runs.map((r) => r.jobId), runs[0]!.jobId, newId()]
    const settled = await Promise.all(asked.map((jobId) => settlement.settle(jobId)))
    expect(settled.slice(0, runs.length).map((row) => row?.jobId)).toEqual(runs.map((r) => r.jobId))
    expect(settled.slice(runs.length)).toEqual([undefined, undefined])
    for (const userId of users) expect(await stores.budgets.usage(userId, DAY)).toMatchObject({ tokensUsed: 14, tokensHeld: 0, costUsedMicroUsd: 140, costHeldMicroUsd: 0 })
    expect(await settlement.settle(runs[1]!.jobId)).toBeUndefined()
  })

  test('the meter does not hold a council up while a call’s use is written, and settles only once every write is in', async () => {
    const { stores } = use()
    const userId = newId()
    const r = request(userId, { tokens: 900, cost: 9_000 })
    await stores.budgets.reserve(r)
    const running = { ...job(userId, 'running'), id: r.jobId, kind: 'council' }
    await stores.jobs.insert(running)
    let release: () => void = () => undefined
    const slow = new Promise<void>((resolve) => (release = resolve))
    const ledger = { ...stores.budgets, recordCall: async (jobId: string, spent: Amounts) => (await slow, stores.budgets.recordCall(jobId, spent)) }
    const settlement = createSettlement({ stores, now: () => new Date() })
    const unused = () => {
      throw new Error('not used by afterCall and settle')
    }
    const meter = createBudgetMeter({
      ledger,
      readDay: async (user, day) => ({ day, row: await stores.budgets.usage(user, day), limits: LIMITS, open: [], settled: { tokens: 0, cost: 0 }, used: { tokens: 0, cost: 0 }, reserved: { tokens: 0, cost: 0 } }),
      settlement,
      alerts: { check: async () => undefined } as never,
      estimator: { worstCall: unused, council: unused, agent: unused } as never,
      logger: createLogger({ level: 'error' }),
      now: () => new Date(),
    })
    const calls = [1, 2, 3].map((n) => meter.afterCall(running, { stage: 'draft', agent: `a${n}`, tokensIn: n, tokensOut: 10 * n, costMicroUsd: 100 * n }))
    const returned = await Promise.race([Promise.all(calls).then(() => 'returned'), Bun.sleep(200).then(() => 'waited')])
    expect(returned).toBe('returned') // the use is still being written
    await stores.jobs.transition(running.id, { to: 'succeeded', at: new Date(), output: {} })
    const settling = meter.settle(running)
    await Bun.sleep(20)
    expect((await stores.budgets.reservation(r.jobId))!.settledAt).toBeNull() // waits for the writes
    release()
    await settling
    expect(await stores.budgets.reservation(r.jobId)).toMatchObject({ tokensUsed: 66, costUsedMicroUsd: 600, calls: 3 })
    expect((await stores.budgets.reservation(r.jobId))!.settledAt).toBeInstanceOf(Date)
    expect(await stores.budgets.usage(userId, DAY)).toMatchObject({ tokensUsed: 66, tokensHeld: 0, costUsedMicroUsd: 600, costHeldMicroUsd: 0 })
  })

  test("a job's stage outputs read back as one use each", async () => {
    const { db, stores } = use()
    const jobId = newId()
    await seed(db, { outputs: [output(jobId, 'analyst', 100, 20, 307), output(jobId, 'critic', 5, 5, 1), output(newId(), 'other', 9, 9, 9)] })
    const uses = await stores.budgets.stageOutputUse(jobId)
    expect(uses.sort((x, y) => x.tokens - y.tokens)).toEqual([
      { tokens: 10, cost: 1 },
      { tokens: 120, cost: 307 },
    ])
    expect(await stores.budgets.stageOutputUse(newId())).toEqual([])
  })

  test('each alert is claimed once per day row; thresholds and budgets are claimed independently', async () => {
    const ledger = use().stores.budgets
    const userId = newId()
    await ledger.reserve(request(userId, { tokens: 1, cost: 1 }))
    const row = (await ledger.usage(userId, DAY))!
    expect(await ledger.claimAlert(row.id, 'tokens', 80)).toBe(true)
    expect(await ledger.claimAlert(row.id, 'tokens', 80)).toBe(false)
    expect(await ledger.claimAlert(row.id, 'tokens', 95)).toBe(true)
    const racing = await Promise.all(Array.from({ length: 6 }, () => ledger.claimAlert(row.id, 'cost', 95)))
    expect(racing.filter(Boolean)).toHaveLength(1)
    const after = (await ledger.usage(userId, DAY))!
    expect([alertSent(after, 'tokens', 80), alertSent(after, 'tokens', 95), alertSent(after, 'cost', 80), alertSent(after, 'cost', 95)]).toEqual([true, true, false, true])
    expect(await ledger.claimAlert(row.id, 'cost', 80)).toBe(true)
    expect(await ledger.claimAlert(newId(), 'cost', 80)).toBe(false)
  })

  test('limits: an upsert keeps the id and creation time and replaces the budgets; remove deletes once', async () => {
    const ledger = use().stores.budgets
    const subject = `role-${newId()}`
    const first = await ledger.putLimit(limitRow('role', subject, 500, null))
    expect(await ledger.findLimit('role', subject)).toEqual(first)
    const replaced = await ledger.putLimit({ ...limitRow('role', subject, null, 7_000), updatedBy: 'other@example.com' })
    expect(replaced).toMatchObject({ id: first.id, createdAt: first.createdAt, dailyTokens: null, dailyCostMicroUsd: 7_000, updatedBy: 'other@example.com' })
    expect(await ledger.findLimit('user', subject)).toBeUndefined()
    expect(await ledger.removeLimit(first.id)).toBe(true)
    expect(await ledger.removeLimit(first.id)).toBe(false)
    expect(await ledger.findLimit('role', subject)).toBeUndefined()
  })

  test('limitsFor: the overrides of these users and of these roles, no others', async () => {
    const ledger = use().stores.budgets
    const [me, other, role, unheld] = [newId(), newId(), `r-${newId()}`, `r-${newId()}`]
    const rows = [limitRow('user', me, 1), limitRow('user', other, 2), limitRow('role', role, 3), limitRow('role', unheld, 4), limitRow('role', me, 5)]
    for (const row of rows) await ledger.putLimit(row)
    const ids = async (users: string[], roles: string[]) => (await ledger.limitsFor(users, roles)).map((row) => row.id).sort()
    expect(await ids([me], [role])).toEqual([rows[0]!.id, rows[2]!.id].sort())
    expect(await ids([me, other], [])).toEqual([rows[0]!.id, rows[1]!.id].sort())
    expect(await ids([], [])).toEqual([])
  })

  test('users by email ignore case and deleted users; a user id reads back its email', async () => {
    const { db, stores } = use()
    const tag = newId().slice(-12)
    const live = user(`Mixed.${tag}@Example.com`)
    const gone = user(`gone.${tag}@example.com`, { deletedAt: new Date() })
    const twins = [user(`twin.${tag}@example.com`), user(`TWIN.${tag}@example.com`)]
    await seed(db, { users: [live, gone, ...twins] })
    expect(await stores.budgets.usersByEmail(`mixed.${tag}@example.com`)).toEqual([{ id: live.id, email: live.email }])
    expect(await stores.budgets.usersByEmail(`gone.${tag}@example.com`)).toEqual([])
    expect(await stores.budgets.usersByEmail(`twin.${tag}@example.com`)).toHaveLength(2)
    expect(await stores.budgets.userEmail(live.id)).toBe(live.email)
    expect(await stores.budgets.userEmail(newId())).toBeUndefined()
  })

  test('listings page by id: every override once, with user overrides naming their user; one day of usage rows', async () => {
    const { db, stores } = use()
    const ledger = stores.budgets
    const person = user(`listed.${newId().slice(-12)}@example.com`)
    await seed(db, { users: [person] })
    const mine = [limitRow('user', person.id, 10), limitRow('role', `r-${newId()}`, 20), limitRow('role', `r-${newId()}`, 30)]
    for (const row of mine) await ledger.putLimit(row)
    const seen: Array<{ id: string; email: string | null }> = []
    for (let after: string | null = null; ; ) {
      const page = await ledger.limitsPage(after, 2)
      expect(page.length).toBeLessThanOrEqual(2)
      seen.push(...page.map((row) => ({ id: row.limit.id, email: row.email })))
      if (page.length < 2) break
      after = page[page.length - 1]!.limit.id
    }
    expect(seen.map((row) => row.id)).toEqual([...new Set(seen.map((row) => row.id))].sort())
    expect(seen.find((row) => row.id === mine[0]!.id)).toEqual({ id: mine[0]!.id, email: person.email })
    expect(seen.find((row) => row.id === mine[1]!.id)).toEqual({ id: mine[1]!.id, email: null })

    const day = '2031-03-04'
    for (const userId of [person.id, newId(), newId()]) await ledger.reserve(request(userId, { tokens: 1, cost: 1 }, { day }))
    await ledger.reserve(request(newId(), { tokens: 1, cost: 1 }, { day: '2031-03-05' }))
    const all = await ledger.usagePage(day, null, 10)
    expect(all).toHaveLength(3)
    expect(all.map((row) => row.usage.id)).toEqual(all.map((row) => row.usage.id).sort())
    expect(all.find((row) => row.usage.userId === person.id)!.email).toBe(person.email)
    const first = await ledger.usagePage(day, null, 2)
    const rest = await ledger.usagePage(day, first[1]!.usage.id, 2)
    expect([...first, ...rest].map((row) => row.usage.id)).toEqual(all.map((row) => row.usage.id))
  })

  test('concurrent reads of reservations each get their own row (shared statements outside transactions)', async () => {
    const ledger = use().stores.budgets
    const userId = newId()
    const requests = Array.from({ length: 8 }, (_, i) => request(userId, { tokens: i + 1, cost: 1 }))
    for (const r of requests) await ledger.reserve(r)
    const read = await Promise.all([...requests.map((r) => ledger.reservation(r.jobId)), ledger.reservation(newId())])
    expect(read.map((row) => row?.tokensReserved)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, undefined])
  })

  test('a burst of metering from many councils at once (shared statements): each call counted once, each read its own user and day', async () => {
    const { stores } = use()
    const ledger = stores.budgets
    const users = Array.from({ length: 6 }, () => newId())
    const requests = users.flatMap((userId) => [request(userId, { tokens: 900, cost: 9_000 }), request(userId, { tokens: 1, cost: 1 }, { day: '2031-01-02' })])
    for (const r of requests) await ledger.reserve(r)
    const jobRows = requests.map((r) => ({ ...job(r.userId, 'running'), id: r.jobId }))
    for (const row of jobRows) await stores.jobs.insert(row)
    await ledger.putLimit(limitRow('user', users[0]!, 7))
    await ledger.putLimit(limitRow('role', 'analyst', 8))
    // Three calls per job on the first day, two of them in the same burst as each other.
    const recorded = await Promise.all(requests.filter((r) => r.day === DAY).flatMap((r) => [1, 2, 3].map((n) => ledger.recordCall(r.jobId, { tokens: n, cost: 10 * n }))))
    expect(recorded.every((answer, i) => answer?.userId === users[Math.floor(i / 3)] && answer.day === DAY && !answer.settled)).toBe(true)
    const [days, open, limits, statuses] = await Promise.all([
      Promise.all(users.flatMap((userId) => [ledger.usage(userId, DAY), ledger.usage(userId, '2031-01-02'), ledger.usage(userId, '2031-01-03')])),
      Promise.all(users.flatMap((userId) => [ledger.openReservations([userId], DAY), ledger.openReservations([userId], '2031-01-02')])),
      Promise.all(users.map((userId) => ledger.limitsFor([userId], ['user', 'analyst']))),
      Promise.all([...jobRows.map((row) => ledger.jobStatus(row.id)), ledger.jobStatus(newId())]),
    ])
    users.forEach((userId, u) => {
      expect(days[3 * u]).toMatchObject({ userId, day: DAY, tokensHeld: 900 })
      expect(days[3 * u + 1]).toMatchObject({ userId, day: '2031-01-02', tokensHeld: 1 })
      expect(days[3 * u + 2]).toBeUndefined()
      const [first, second] = [open[2 * u]!, open[2 * u + 1]!]
      expect(first.map((entry) => [entry.reservation.userId, entry.reservation.day, entry.reservation.tokensUsed, entry.reservation.calls, entry.jobStatus])).toEqual([[userId, DAY, 6, 3, 'running']])
      expect(first[0]!.reservation.costUsedMicroUsd).toBe(60)
      expect(second.map((entry) => [entry.reservation.userId, entry.reservation.day, entry.reservation.calls])).toEqual([[userId, '2031-01-02', 0]])
      expect(limits[u]!.map((row) => row.dailyTokens).sort()).toEqual(u === 0 ? [7, 8] : [8])
    })
    expect(statuses).toEqual([...jobRows.map(() => 'running'), undefined])
  })
})
