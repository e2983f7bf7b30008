/**
 * The budget ledger on PostgreSQL: the shared queries (./store.portable.ts),
 * and what PostgreSQL does in fewer statements: a round of reservations at
 * once, many calls' use in one UPDATE (json_to_recordset), a burst of closes
 * in one UPDATE per day row.
 */
import { and, eq, sql } from 'drizzle-orm'
import { newId, type PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import { budgetReservations, budgetUsage } from '../../../db/schema/pg'
import { reservationRounds, type BudgetLedger, type ReservationRequest, type ReserveOutcome } from './store'
import { sumCalls } from './store-reads'
import { ledgerQueries, reservationRow, type LedgerOptions } from './store.portable'

export interface PgBudgetLedgerOptions {
  /** Share reads of reservations between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgBudgetLedger(db: PgExec, { coalesce }: PgBudgetLedgerOptions): BudgetLedger {
  /** Calls' use added to their reservations, one UPDATE per burst (a job's calls in one burst are added up first). */
  const recordCalls: LedgerOptions['recordCalls'] = async (items) => {
    const result = await db.execute<{ job_id: string; user_id: string; day: string; settled: boolean }>(sql`
      update budget_reservations as b set tokens_used = b.tokens_used + r.tokens, cost_used_micro_usd = b.cost_used_micro_usd + r.cost,
        calls = b.calls + r.calls
      from json_to_recordset(${JSON.stringify(sumCalls(items))}::json) as r(job_id text, tokens bigint, cost bigint, calls integer)
      where b.job_id = r.job_id
      returning b.job_id, b.user_id, b.day, b.settled_at is not null as settled`)
    const byJob = new Map(result.rows.map((row) => [row.job_id, { userId: row.user_id, day: row.day, settled: row.settled }]))
    return items.map((item) => byJob.get(item.jobId))
  }

  const dayOf = (userId: string, day: string) => and(eq(budgetUsage.userId, userId), eq(budgetUsage.day, day))
  const fitsAlone = ({ worstCase: worst, limits: limit }: ReservationRequest) => worst.tokens <= limit.tokens && worst.cost <= limit.cost

  return {
    ...ledgerQueries(pgPortable(db), { coalesce, recordCalls }),
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
  }
}
