/**
 * The budget ledger's reads that every metered LLM call makes (a user's day:
 * its row, open reservations and limits; a job's status), shared by the
 * callers that ask at the same moment — a running council reads its user's day
 * at each stage's first call, so a thousand councils moving together would
 * otherwise be thousands of statements. Used by both dialects' ledgers on the
 * database itself, never inside a transaction (see db/coalesce.ts).
 */
import { byGroup, createCoalescer, type CoalescerOptions } from '../../../db/coalesce'
import type { BudgetUsageRow, LimitRow } from '../../../db/schema'
import type { OpenReservation } from './store'

export interface LedgerReads {
  usage(userIds: string[], day: string): Promise<BudgetUsageRow[]>
  open(userIds: string[], day: string): Promise<OpenReservation[]>
  limits(userIds: readonly string[], roles: readonly string[]): Promise<LimitRow[]>
  statuses(jobIds: string[]): Promise<Array<{ id: string; status: string }>>
}

export function sharedLedgerReads(reads: LedgerReads, options: CoalescerOptions = {}) {
  const usage = createCoalescer<{ userId: string; day: string }, BudgetUsageRow | undefined>((items) =>
    byGroup(items, (item) => item.day, async (group) => {
      const rows = await reads.usage([...new Set(group.map((item) => item.userId))], group[0]!.day)
      const byUser = new Map(rows.map((row) => [row.userId, row]))
      return group.map((item) => byUser.get(item.userId))
    }),
    options,
  )
  const open = createCoalescer<{ userId: string; day: string }, OpenReservation[]>((items) =>
    byGroup(items, (item) => item.day, async (group) => {
      const rows = await reads.open([...new Set(group.map((item) => item.userId))], group[0]!.day)
      return group.map((item) => rows.filter((row) => row.reservation.userId === item.userId))
    }),
    options,
  )
  const limits = createCoalescer<{ userIds: readonly string[]; roles: readonly string[] }, LimitRow[]>(async (items) => {
    const rows = await reads.limits([...new Set(items.flatMap((item) => item.userIds))], [...new Set(items.flatMap((item) => item.roles))])
    return items.map(({ userIds, roles }) =>
      rows.filter((row) => (row.scope === 'user' ? userIds.includes(row.subject) : row.scope === 'role' && roles.includes(row.subject))),
    )
  }, options)
  const status = createCoalescer<string, string | undefined>(async (jobIds) => {
    const byId = new Map((await reads.statuses([...new Set(jobIds)])).map((row) => [row.id, row.status]))
    return jobIds.map((jobId) => byId.get(jobId))
  }, options)
  return {
    usage: (userId: string, day: string) => usage.add({ userId, day }),
    openReservations: (userId: string, day: string) => open.add({ userId, day }),
    limitsFor: (userIds: readonly string[], roles: readonly string[]) => limits.add({ userIds, roles }),
    jobStatus: (jobId: string) => status.add(jobId),
  }
}

/** Calls' use added to their reservations: a job's calls in one burst are added up first. */
export function sumCalls(items: ReadonlyArray<{ jobId: string; use: { tokens: number; cost: number } }>) {
  const sums = new Map<string, { job_id: string; tokens: number; cost: number; calls: number }>()
  for (const { jobId, use } of items) {
    const sum = sums.get(jobId) ?? { job_id: jobId, tokens: 0, cost: 0, calls: 0 }
    sum.tokens += use.tokens
    sum.cost += use.cost
    sum.calls++
    sums.set(jobId, sum)
  }
  return [...sums.values()]
}
