/** The budget ledger on PostgreSQL. */
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm'
import { newId, type PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import type { BudgetReservationRow } from '../../../db/schema'
import { budgetReservations, budgetUsage, jobs, limits, stageOutputs, users } from '../../../db/schema/pg'
import { alertBit, reservationRounds, type BudgetLedger, type ReservationRequest, type ReserveOutcome } from './store'
import { sharedLedgerReads, sumCalls } from './store-reads'

export interface PgBudgetLedgerOptions {
  /** Share reads of reservations between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgBudgetLedger(db: PgExec, { coalesce }: PgBudgetLedgerOptions): BudgetLedger {
  const readReservations = (jobIds: string[]) => db.select().from(budgetReservations).where(inArray(budgetReservations.jobId, jobIds))
  // Councils start in bursts; their reservations are read in one query per burst (see db/coalesce.ts).
  const loadReservation = createCoalescer<string, BudgetReservationRow | undefined>(async (jobIds) => {
    const byJob = new Map((await readReservations([...new Set(jobIds)])).map((row) => [row.jobId, row]))
    return jobIds.map((jobId) => byJob.get(jobId))
  })
  const readUsage = (userIds: string[], day: string) =>
    db.select().from(budgetUsage).where(and(inArray(budgetUsage.userId, userIds), eq(budgetUsage.day, day)))
  const readOpen = (userIds: string[], day: string) =>
    db
      .select({ reservation: budgetReservations, jobStatus: jobs.status })
      .from(budgetReservations)
      .leftJoin(jobs, eq(jobs.id, budgetReservations.jobId))
      .where(and(inArray(budgetReservations.userId, userIds), eq(budgetReservations.day, day), isNull(budgetReservations.settledAt)))
  const readLimits = (userIds: readonly string[], roles: readonly string[]) => {
    const conditions = []
    if (userIds.length > 0) conditions.push(and(eq(limits.scope, 'user'), inArray(limits.subject, [...userIds])))
    if (roles.length > 0) conditions.push(and(eq(limits.scope, 'role'), inArray(limits.subject, [...roles])))
    return conditions.length === 0 ? Promise.resolve([]) : db.select().from(limits).where(or(...conditions))
  }
  // A running council meters every call: these reads are shared by the councils that get there together.
  const shared = sharedLedgerReads({
    usage: readUsage,
    open: readOpen,
    limits: readLimits,
    statuses: (jobIds) => db.select({ id: jobs.id, status: jobs.status }).from(jobs).where(inArray(jobs.id, jobIds)),
  })
  /** Calls' use added to their reservations, one UPDATE per burst (a job's calls in one burst are added up first). */
  const recordTogether = createCoalescer<{ jobId: string; use: { tokens: number; cost: number } }, { userId: string; day: string; settled: boolean } | undefined>(
    async (items) => {
      const result = await db.execute<{ job_id: string; user_id: string; day: string; settled: boolean }>(sql`
        update budget_reservations as b set tokens_used = b.tokens_used + r.tokens, cost_used_micro_usd = b.cost_used_micro_usd + r.cost,
          calls = b.calls + r.calls
        from json_to_recordset(${JSON.stringify(sumCalls(items))}::json) as r(job_id text, tokens bigint, cost bigint, calls integer)
        where b.job_id = r.job_id
        returning b.job_id, b.user_id, b.day, b.settled_at is not null as settled`)
      const byJob = new Map(result.rows.map((row) => [row.job_id, { userId: row.user_id, day: row.day, settled: row.settled }]))
      return items.map((item) => byJob.get(item.jobId))
    },
  )
  const dayOf = (userId: string, day: string) => and(eq(budgetUsage.userId, userId), eq(budgetUsage.day, day))
  const fitsAlone = ({ worstCase: worst, limits: limit }: ReservationRequest) => worst.tokens <= limit.tokens && worst.cost <= limit.cost
  const reservationRow = (r: ReservationRequest) => ({
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
      await db.insert(budgetReservations).values({
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
      return { granted: true }
    },

    async reserveMany(requests) {
      const outcomes: ReserveOutcome[] = new Array(requests.length)
      const granted: ReservationRequest[] = []
      const key = (userId: string, day: string) => `${userId}\u0000${day}`
      for (const round of reservationRounds(requests)) {
        const fits = round.filter((i) => fitsAlone(requests[i]!))
        const held = new Set<string>()
        if (fits.length > 0) {
          // A user's first hold of the day creates its row holding the worst case...
          const created = await db
            .insert(budgetUsage)
            .values(fits.map((i) => {
              const r = requests[i]!
              return { id: newId(), userId: r.userId, day: r.day, tokensUsed: 0, tokensHeld: r.worstCase.tokens, costUsedMicroUsd: 0, costHeldMicroUsd: r.worstCase.cost, alertsSent: 0, roles: r.roles, updatedAt: r.at }
            }))
            .onConflictDoNothing({ target: [budgetUsage.userId, budgetUsage.day] })
            .returning({ userId: budgetUsage.userId, day: budgetUsage.day })
          for (const row of created) held.add(key(row.userId, row.day))
          // ...the others add it to the existing row only where it fits: one statement, each row locked while its condition is evaluated.
          const existing = fits.filter((i) => !held.has(key(requests[i]!.userId, requests[i]!.day)))
          if (existing.length > 0) {
            const values = sql.join(
              existing.map((i) => {
                const r = requests[i]!
                return sql`(${r.userId}, ${r.day}, ${r.worstCase.tokens}::bigint, ${r.worstCase.cost}::bigint, ${r.limits.tokens}::bigint, ${r.limits.cost}::bigint, ${JSON.stringify(r.roles)}::jsonb, ${r.at.toISOString()}::timestamptz)`
              }),
              sql`, `,
            )
            const updated = await db.execute<{ user_id: string; day: string }>(sql`
              update ${budgetUsage} as b set
                tokens_held = b.tokens_held + v.tokens, cost_held_micro_usd = b.cost_held_micro_usd + v.cost, roles = v.roles, updated_at = v.at
              from (values ${values}) as v(user_id, day, tokens, cost, max_tokens, max_cost, roles, at)
              where b.user_id = v.user_id and b.day = v.day
                and b.tokens_used + b.tokens_held + v.tokens <= v.max_tokens
                and b.cost_used_micro_usd + b.cost_held_micro_usd + v.cost <= v.max_cost
              returning b.user_id, b.day`)
            for (const row of updated.rows) held.add(key(row.user_id, row.day))
          }
        }
        for (const i of round) {
          const r = requests[i]!
          if (held.has(key(r.userId, r.day))) {
            outcomes[i] = { granted: true }
            granted.push(r)
          } else outcomes[i] = { granted: false, day: (await db.select().from(budgetUsage).where(dayOf(r.userId, r.day)).limit(1))[0] }
        }
      }
      if (granted.length > 0) await db.insert(budgetReservations).values(granted.map(reservationRow))
      return outcomes
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

    async closeReservations(closes, at) {
      const days = new Map<string, { user_id: string; day: string; used_tokens: number; used_cost: number; held_tokens: number; held_cost: number }>()
      for (const { claimed, final } of closes) {
        const { used, calls } = final
        if (used.tokens !== claimed.tokensUsed || used.cost !== claimed.costUsedMicroUsd || calls !== claimed.calls)
          await db.update(budgetReservations).set({ tokensUsed: used.tokens, costUsedMicroUsd: used.cost, calls }).where(eq(budgetReservations.jobId, claimed.jobId))
        const key = `${claimed.userId}\u0000${claimed.day}`
        const sum = days.get(key) ?? { user_id: claimed.userId, day: claimed.day, used_tokens: 0, used_cost: 0, held_tokens: 0, held_cost: 0 }
        sum.used_tokens += used.tokens
        sum.used_cost += used.cost
        sum.held_tokens += claimed.tokensReserved
        sum.held_cost += claimed.costReservedMicroUsd
        days.set(key, sum)
      }
      if (days.size === 0) return
      // Rows in (user, day) order, the order intake locks them in.
      const rows = [...days.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : a.day < b.day ? -1 : a.day > b.day ? 1 : 0))
      await db.execute(sql`
        update budget_usage as u set tokens_used = u.tokens_used + r.used_tokens, tokens_held = u.tokens_held - r.held_tokens,
          cost_used_micro_usd = u.cost_used_micro_usd + r.used_cost, cost_held_micro_usd = u.cost_held_micro_usd - r.held_cost, updated_at = ${at.toISOString()}::timestamptz
        from json_to_recordset(${JSON.stringify(rows)}::json) as r(user_id text, day text, used_tokens bigint, used_cost bigint, held_tokens bigint, held_cost bigint)
        where u.user_id = r.user_id and u.day = r.day`)
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
