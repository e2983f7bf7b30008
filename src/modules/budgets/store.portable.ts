/**
 * The budget ledger, on either dialect: the same queries run on both
 * (db/portable.ts). What differs is in store.pg.ts and store.sqlite.ts:
 * `reserveMany` and `closeReservations` (one statement per round or burst on
 * PostgreSQL, one request at a time on libsql), the statement that adds many
 * calls' use at once (`recordCalls`), and how the shared reads wait for company.
 */
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm'
import { newId } from '../../../db/client'
import { createCoalescer, type CoalescerOptions } from '../../../db/coalesce'
import type { Portable } from '../../../db/portable'
import type { BudgetReservationRow } from '../../../db/schema'
import { alertBit, type BudgetLedger, type ReservationRequest } from './store'
import { sharedLedgerReads } from './store-reads'

/** The reservation row a granted request inserts. */
export const reservationRow = (r: ReservationRequest) => ({
  jobId: r.jobId,
  userId: r.userId,
  day: r.day,
  kind: r.kind,
  roles: r.roles,
  tokensReserved: r.worstCase.tokens,
  costReservedMicroUsd: r.worstCase.cost,
  tokensUsed: 0,
  costUsedMicroUsd: 0,
  calls: 0,
  createdAt: r.at,
  settledAt: null,
})

type CallUse = { jobId: string; use: { tokens: number; cost: number } }
type CallRecorded = { userId: string; day: string; settled: boolean } | undefined

export interface LedgerOptions {
  /** Share reads of reservations between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
  /** How the shared reads and writes wait for company (db/coalesce.ts). */
  coalescer?: CoalescerOptions
  /** Calls' use added to their reservations, one statement for many calls (dialect SQL): each call's reservation after, in order. */
  recordCalls(items: CallUse[]): Promise<CallRecorded[]>
}

/**
 * @example
 * const ledger = { ...ledgerQueries(pgPortable(db), { coalesce: true, recordCalls }), reserveMany, closeReservations }
 */
export function ledgerQueries({ db, t }: Portable, { coalesce, coalescer, recordCalls }: LedgerOptions): Omit<BudgetLedger, 'reserveMany' | 'closeReservations'> {
  const { budgetReservations, budgetUsage, jobs, limits, stageOutputs, users } = t
  const readReservations = (jobIds: string[]) => db.select().from(budgetReservations).where(inArray(budgetReservations.jobId, jobIds))
  // Councils start in bursts; their reservations are read in one query per burst (see db/coalesce.ts).
  const loadReservation = createCoalescer<string, BudgetReservationRow | undefined>(async (jobIds) => {
    const byJob = new Map((await readReservations([...new Set(jobIds)])).map((row) => [row.jobId, row]))
    return jobIds.map((jobId) => byJob.get(jobId))
  }, coalescer)
  const readOpen = (userIds: string[], day: string) =>
    db
      .select({ reservation: budgetReservations, jobStatus: jobs.status })
      .from(budgetReservations)
      .leftJoin(jobs, eq(jobs.id, budgetReservations.jobId))
      .where(and(inArray(budgetReservations.userId, userIds), eq(budgetReservations.day, day), isNull(budgetReservations.settledAt)))
  const readLimits = async (userIds: readonly string[], roles: readonly string[]) => {
    const conditions = []
    if (userIds.length > 0) conditions.push(and(eq(limits.scope, 'user'), inArray(limits.subject, [...userIds])))
    if (roles.length > 0) conditions.push(and(eq(limits.scope, 'role'), inArray(limits.subject, [...roles])))
    if (conditions.length === 0) return []
    return db.select().from(limits).where(or(...conditions))
  }
  // A running council meters every call: these reads are shared by the councils that get there together.
  const shared = sharedLedgerReads(
    {
      usage: (userIds, day) => db.select().from(budgetUsage).where(and(inArray(budgetUsage.userId, userIds), eq(budgetUsage.day, day))),
      open: readOpen,
      limits: readLimits,
      statuses: (jobIds) => db.select({ id: jobs.id, status: jobs.status }).from(jobs).where(inArray(jobs.id, jobIds)),
    },
    coalescer,
  )
  const recordTogether = createCoalescer<CallUse, CallRecorded>(recordCalls, coalescer)
  const dayOf = (userId: string, day: string) => and(eq(budgetUsage.userId, userId), eq(budgetUsage.day, day))

  return {
    async reserve(r) {
      const { worstCase: worst, limits: limit } = r
      // One statement holds the worst case: it creates the day's row holding it, or adds it to the
      // existing row only where it fits (the row is locked while the condition is evaluated).
      const fitsAlone = worst.tokens <= limit.tokens && worst.cost <= limit.cost
      const granted = fitsAlone
        ? await db
            .insert(budgetUsage)
            .values({ id: newId(), userId: r.userId, day: r.day, tokensUsed: 0, tokensHeld: worst.tokens, costUsedMicroUsd: 0, costHeldMicroUsd: worst.cost, alertsSent: 0, roles: r.roles, updatedAt: r.at })
            .onConflictDoUpdate({
              target: [budgetUsage.userId, budgetUsage.day],
              set: {
                tokensHeld: sql`${budgetUsage.tokensHeld} + ${worst.tokens}`,
                costHeldMicroUsd: sql`${budgetUsage.costHeldMicroUsd} + ${worst.cost}`,
                roles: r.roles,
                updatedAt: r.at,
              },
              setWhere: and(
                sql`${budgetUsage.tokensUsed} + ${budgetUsage.tokensHeld} + ${worst.tokens} <= ${limit.tokens}`,
                sql`${budgetUsage.costUsedMicroUsd} + ${budgetUsage.costHeldMicroUsd} + ${worst.cost} <= ${limit.cost}`,
              ),
            })
            .returning({ id: budgetUsage.id })
        : []
      if (granted.length === 0) {
        const [day] = await db.select().from(budgetUsage).where(dayOf(r.userId, r.day)).limit(1)
        return { granted: false, day }
      }
      await db.insert(budgetReservations).values(reservationRow(r))
      return { granted: true }
    },


    async usage(userId, day) {
      if (coalesce) return shared.usage(userId, day)
      return (await db.select().from(budgetUsage).where(dayOf(userId, day)).limit(1))[0]
    },
    async openReservations(userIds, day) {
      if (userIds.length === 0) return []
      if (coalesce && userIds.length === 1) return shared.openReservations(userIds[0]!, day)
      return readOpen([...userIds], day)
    },
    async limitsFor(userIds, roles) {
      if (coalesce) return shared.limitsFor(userIds, roles)
      return readLimits(userIds, roles)
    },

    async reservation(jobId) {
      if (coalesce) return loadReservation.add(jobId)
      return (await readReservations([jobId]))[0]
    },
    async recordCall(jobId, use) {
      if (coalesce) return recordTogether.add({ jobId, use })
      const [row] = await db
        .update(budgetReservations)
        .set({
          tokensUsed: sql`${budgetReservations.tokensUsed} + ${use.tokens}`,
          costUsedMicroUsd: sql`${budgetReservations.costUsedMicroUsd} + ${use.cost}`,
          calls: sql`${budgetReservations.calls} + 1`,
        })
        .where(eq(budgetReservations.jobId, jobId))
        .returning({ settledAt: budgetReservations.settledAt, userId: budgetReservations.userId, day: budgetReservations.day })
      return row && { userId: row.userId, day: row.day, settled: row.settledAt !== null }
    },
    async addUse(userId, day, use, at) {
      await db
        .update(budgetUsage)
        .set({
          tokensUsed: sql`${budgetUsage.tokensUsed} + ${use.tokens}`,
          costUsedMicroUsd: sql`${budgetUsage.costUsedMicroUsd} + ${use.cost}`,
          updatedAt: at,
        })
        .where(dayOf(userId, day))
    },
    async jobStatus(jobId) {
      if (coalesce) return shared.jobStatus(jobId)
      return (await db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)).limit(1))[0]?.status
    },

    async claimSettlement(jobId, at) {
      const [row] = await db
        .update(budgetReservations)
        .set({ settledAt: at })
        .where(and(eq(budgetReservations.jobId, jobId), isNull(budgetReservations.settledAt)))
        .returning()
      return row
    },
    async claimSettlements(jobIds, at) {
      if (jobIds.length === 0) return []
      return db
        .update(budgetReservations)
        .set({ settledAt: at })
        .where(and(inArray(budgetReservations.jobId, [...jobIds]), isNull(budgetReservations.settledAt)))
        .returning()
    },
    async stageOutputUse(jobId) {
      const rows = await db
        .select({ tokensIn: stageOutputs.tokensIn, tokensOut: stageOutputs.tokensOut, cost: stageOutputs.costMicroUsd })
        .from(stageOutputs)
        .where(eq(stageOutputs.jobId, jobId))
      return rows.map((row) => ({ tokens: row.tokensIn + row.tokensOut, cost: row.cost }))
    },
    async closeReservation(claimed, { used, calls }, at) {
      if (used.tokens !== claimed.tokensUsed || used.cost !== claimed.costUsedMicroUsd || calls !== claimed.calls)
        await db
          .update(budgetReservations)
          .set({ tokensUsed: used.tokens, costUsedMicroUsd: used.cost, calls })
          .where(eq(budgetReservations.jobId, claimed.jobId))
      await db
        .update(budgetUsage)
        .set({
          tokensUsed: sql`${budgetUsage.tokensUsed} + ${used.tokens}`,
          tokensHeld: sql`${budgetUsage.tokensHeld} - ${claimed.tokensReserved}`,
          costUsedMicroUsd: sql`${budgetUsage.costUsedMicroUsd} + ${used.cost}`,
          costHeldMicroUsd: sql`${budgetUsage.costHeldMicroUsd} - ${claimed.costReservedMicroUsd}`,
          updatedAt: at,
        })
        .where(dayOf(claimed.userId, claimed.day))
    },

    async claimAlert(usageId, budget, threshold) {
      const bit = alertBit(budget, threshold)
      const claimed = await db
        .update(budgetUsage)
        .set({ alertsSent: sql`${budgetUsage.alertsSent} | ${bit}` })
        .where(and(eq(budgetUsage.id, usageId), sql`(${budgetUsage.alertsSent} & ${bit}) = 0`))
        .returning({ id: budgetUsage.id })
      return claimed.length > 0
    },
    async userEmail(userId) {
      return (await db.select({ email: users.email }).from(users).where(eq(users.id, userId)).limit(1))[0]?.email
    },

    usersByEmail(email) {
      return db
        .select({ id: users.id, email: users.email })
        .from(users)
        .where(and(sql`lower(${users.email}) = ${email.toLowerCase()}`, isNull(users.deletedAt)))
        .limit(2)
    },
    async findLimit(scope, subject) {
      return (await db.select().from(limits).where(and(eq(limits.scope, scope), eq(limits.subject, subject))).limit(1))[0]
    },
    async putLimit(row) {
      const { dailyTokens, dailyCostMicroUsd, updatedBy, updatedAt } = row
      const [stored] = await db
        .insert(limits)
        .values(row)
        .onConflictDoUpdate({ target: [limits.scope, limits.subject], set: { dailyTokens, dailyCostMicroUsd, updatedBy, updatedAt } })
        .returning()
      return stored!
    },
    async removeLimit(id) {
      return (await db.delete(limits).where(eq(limits.id, id)).returning({ id: limits.id })).length > 0
    },
    limitsPage(after, limit) {
      return db
        .select({ limit: limits, email: users.email })
        .from(limits)
        .leftJoin(users, and(eq(limits.scope, 'user'), eq(users.id, limits.subject)))
        .where(after ? gt(limits.id, after) : undefined)
        .orderBy(asc(limits.id))
        .limit(limit)
    },
    usagePage(day, after, limit) {
      return db
        .select({ usage: budgetUsage, email: users.email })
        .from(budgetUsage)
        .leftJoin(users, eq(users.id, budgetUsage.userId))
        .where(and(eq(budgetUsage.day, day), after ? gt(budgetUsage.id, after) : undefined))
        .orderBy(asc(budgetUsage.id))
        .limit(limit)
    },
  }
}
