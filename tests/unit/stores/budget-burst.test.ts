/** The budget ledger, settlement and meter under bursts (many councils at once): shared statements, exact sums; libsql and PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { Amounts } from '../../../src/modules/budgets/amounts'
import { createLogger } from '../../../plugins/logging/logger'
import { createBudgetMeter } from '../../../src/modules/budgets/meter'
import { createSettlement } from '../../../src/modules/budgets/settlement'
import { DAY, job, LIMITS, limitRow, request } from '../../helpers/budget-seed'
import { eachDialect } from '../../helpers/databases'

eachDialect('budget ledger in bursts', (use) => {
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
