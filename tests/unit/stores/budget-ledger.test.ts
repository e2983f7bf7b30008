/** The budget ledger's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId, type Database } from '../../../db/client'
import type { StageOutputRow, UserRow } from '../../../db/schema'
import { alertSent } from '../../../src/modules/budgets/store'
import { DAY, job, limitRow, request } from '../../helpers/budget-seed'
import { eachDialect } from '../../helpers/databases'

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
})
