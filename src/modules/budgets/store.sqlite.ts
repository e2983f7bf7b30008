/**
 * The budget ledger on libsql: the shared queries (./store.portable.ts), one
 * writer at a time for reservations and closes, and many calls' use in one
 * UPDATE (json_each).
 */
import { sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import type { BudgetLedger } from './store'
import { sumCalls } from './store-reads'
import { ledgerQueries, type LedgerOptions } from './store.portable'

export interface SqliteBudgetLedgerOptions {
  /** Share reads of reservations between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createSqliteBudgetLedger(db: SqliteExec, { coalesce }: SqliteBudgetLedgerOptions): BudgetLedger {
  /** Calls' use added to their reservations, one UPDATE per burst. */
  const recordCalls: LedgerOptions['recordCalls'] = async (items) => {
    const rows = await db.all<{ job_id: string; user_id: string; day: string; settled: number }>(sql`
      update budget_reservations set tokens_used = budget_reservations.tokens_used + r.add_tokens,
        cost_used_micro_usd = budget_reservations.cost_used_micro_usd + r.add_cost, calls = budget_reservations.calls + r.add_calls
      from (select json_extract(value, '$.job_id') as for_job, json_extract(value, '$.tokens') as add_tokens, json_extract(value, '$.cost') as add_cost,
              json_extract(value, '$.calls') as add_calls from json_each(${JSON.stringify(sumCalls(items))})) as r
      where budget_reservations.job_id = r.for_job
      returning budget_reservations.job_id, budget_reservations.user_id, budget_reservations.day, budget_reservations.settled_at is not null as settled`)
    const byJob = new Map(rows.map((row) => [row.job_id, { userId: row.user_id, day: row.day, settled: Boolean(row.settled) }]))
    return items.map((item) => byJob.get(item.jobId))
  }

  const ledger: BudgetLedger = {
    // libsql runs each statement on this thread: shared reads and writes wait a turn for company (db/coalesce.ts).
    ...ledgerQueries(sqlitePortable(db), { coalesce, coalescer: { wait: 'turn' }, recordCalls }),
    async reserveMany(requests) {
      // One writer at a time: the requests are decided one after another, in the caller's transaction.
      const outcomes = []
      for (const request of requests) outcomes.push(await ledger.reserve(request))
      return outcomes
    },

    async closeReservations(closes, at) {
      for (const { claimed, final } of closes) await this.closeReservation(claimed, final, at)
    },
  }
  return ledger
}
