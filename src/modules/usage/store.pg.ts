/**
 * The usage rollups on PostgreSQL. A flush is one statement per table: the
 * deltas travel as one jsonb parameter (jsonb_to_recordset) and are added to
 * their rows by INSERT … ON CONFLICT DO UPDATE, sorted by id so two processes
 * flushing overlapping rows lock them in the same order and cannot deadlock.
 * Reads sum the day rows of a window (a few thousand rows at 10M events:
 * docs/PERFORMANCE.md "Admin dashboard").
 */
import { and, asc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { usageRollups, usageUsers } from '../../../db/schema/pg'
import { HISTOGRAM_COLUMNS } from './histogram'
import { histOf, rollupId, userDayId, type RollupPoint, type RollupSum, type UsageDim, type UsageKind, type UsageStore } from './store'

const COUNTERS = ['count', 'errors', 'clientErrors', 'tokensIn', 'tokensOut', 'costMicroUsd', 'durationMs', ...HISTOGRAM_COLUMNS] as const
const COUNTER_COLUMNS = ['count', 'errors', 'client_errors', 'tokens_in', 'tokens_out', 'cost_micro_usd', 'duration_ms', ...HISTOGRAM_COLUMNS]

const UPSERT_ROLLUPS = (() => {
  const columns = ['id', 'grain', 'bucket', 'kind', 'dim', 'key', ...COUNTER_COLUMNS]
  const types = [...columns.slice(0, 6).map((c) => `"${c}" text`), ...COUNTER_COLUMNS.map((c) => `"${c}" bigint`)]
  const list = columns.map((c) => `"${c}"`).join(', ')
  return {
    head: `insert into usage_rollups (${list}) select ${list} from jsonb_to_recordset(`,
    tail: `::jsonb) as r(${types.join(', ')}) order by "id" on conflict ("id") do update set ${COUNTER_COLUMNS.map((c) => `"${c}" = usage_rollups."${c}" + excluded."${c}"`).join(', ')}`,
  }
})()

/**
 * One statement for the people of a flush: their day rows are added to; a day
 * row that is new (xmax = 0: inserted, not updated) is a person's first event
 * that day and adds 1 to the day's `activity` rollup (daily active users); and
 * their first and last active days are kept in usage_users.
 */
const UPSERT_USERS = {
  head: 'with r as (select * from jsonb_to_recordset(',
  tail: `::jsonb) as r(id text, user_id text, day text, events bigint, tokens bigint, cost_micro_usd bigint)),
    up as (
      insert into usage_user_days (id, user_id, day, events, tokens, cost_micro_usd)
      select id, user_id, day, events, tokens, cost_micro_usd from r order by id
      on conflict (id) do update set events = usage_user_days.events + excluded.events, tokens = usage_user_days.tokens + excluded.tokens,
        cost_micro_usd = usage_user_days.cost_micro_usd + excluded.cost_micro_usd
      returning day, (xmax = 0) as inserted),
    seen as (
      insert into usage_users (user_id, first_day, last_day)
      select user_id, min(day), max(day) from r group by user_id order by user_id
      on conflict (user_id) do update set first_day = least(usage_users.first_day, excluded.first_day), last_day = greatest(usage_users.last_day, excluded.last_day))
    insert into usage_rollups (id, grain, bucket, kind, dim, key, count, errors, client_errors, tokens_in, tokens_out, cost_micro_usd, duration_ms)
    select 'day|activity|total|' || day || '|', 'day', day, 'activity', 'total', '', count(*), 0, 0, 0, 0, 0, 0 from up where inserted group by day order by day
    on conflict (id) do update set count = usage_rollups.count + excluded.count`,
}

const sums = () => Object.fromEntries(COUNTERS.map((key) => [key, sql<number>`sum(${usageRollups[key]})`.mapWith(Number)])) as Record<(typeof COUNTERS)[number], SQL<number>>

type SumRow = Record<(typeof COUNTERS)[number], number> & { kind: string; dim: string; key: string }

const toSum = (row: SumRow): RollupSum => ({
  kind: row.kind as UsageKind,
  dim: row.dim as UsageDim,
  key: row.key,
  count: row.count,
  errors: row.errors,
  clientErrors: row.clientErrors,
  tokensIn: row.tokensIn,
  tokensOut: row.tokensOut,
  costMicroUsd: row.costMicroUsd,
  durationMs: row.durationMs,
  hist: histOf(row, HISTOGRAM_COLUMNS),
})

export function createPgUsageStore(db: PgExec): UsageStore {
  return {
    async add(rollups, users) {
      if (rollups.length > 0) {
        const rows = rollups.map(({ hist, ...d }) => {
          const row: Record<string, unknown> = {
            id: rollupId(d),
            grain: d.grain,
            bucket: d.bucket,
            kind: d.kind,
            dim: d.dim,
            key: d.key,
            count: d.count,
            errors: d.errors,
            client_errors: d.clientErrors,
            tokens_in: d.tokensIn,
            tokens_out: d.tokensOut,
            cost_micro_usd: d.costMicroUsd,
            duration_ms: Math.round(d.durationMs),
          }
          HISTOGRAM_COLUMNS.forEach((column, b) => (row[column] = hist[b] ?? 0))
          return row
        })
        await db.execute(sql`${sql.raw(UPSERT_ROLLUPS.head)}${JSON.stringify(rows)}${sql.raw(UPSERT_ROLLUPS.tail)}`)
      }
      if (users.length > 0) {
        const rows = users.map((u) => ({ id: userDayId(u.userId, u.day), user_id: u.userId, day: u.day, events: u.events, tokens: u.tokens, cost_micro_usd: u.costMicroUsd }))
        await db.execute(sql`${sql.raw(UPSERT_USERS.head)}${JSON.stringify(rows)}${sql.raw(UPSERT_USERS.tail)}`)
      }
    },

    async totals({ grain, from, to }) {
      const rows = await db
        .select({ kind: usageRollups.kind, dim: usageRollups.dim, key: usageRollups.key, ...sums() })
        .from(usageRollups)
        .where(and(eq(usageRollups.grain, grain), gte(usageRollups.bucket, from), lte(usageRollups.bucket, to)))
        .groupBy(usageRollups.kind, usageRollups.dim, usageRollups.key)
      return (rows as unknown as SumRow[]).map(toSum)
    },

    async series({ grain, from, to, kind, dim }) {
      const rows = await db
        .select({ bucket: usageRollups.bucket, kind: usageRollups.kind, dim: usageRollups.dim, key: usageRollups.key, ...sums() })
        .from(usageRollups)
        .where(and(eq(usageRollups.grain, grain), gte(usageRollups.bucket, from), lte(usageRollups.bucket, to), eq(usageRollups.kind, kind), eq(usageRollups.dim, dim)))
        .groupBy(usageRollups.bucket, usageRollups.kind, usageRollups.dim, usageRollups.key)
        .orderBy(asc(usageRollups.bucket))
      return (rows as unknown as Array<SumRow & { bucket: string }>).map((row): RollupPoint => ({ ...toSum(row), bucket: row.bucket }))
    },

    async activeUsers(from, to) {
      const rows = await db
        .select({ day: usageRollups.bucket, users: usageRollups.count })
        .from(usageRollups)
        .where(and(eq(usageRollups.grain, 'day'), gte(usageRollups.bucket, from), lte(usageRollups.bucket, to), eq(usageRollups.kind, 'activity'), eq(usageRollups.dim, 'total')))
        .orderBy(asc(usageRollups.bucket))
      return rows.map((row) => ({ day: row.day, users: Number(row.users) }))
    },

    async activeSince(day) {
      const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(usageUsers).where(gte(usageUsers.lastDay, day))
      return row?.n ?? 0
    },

    async purgeHours(before) {
      const gone = await db
        .delete(usageRollups)
        .where(and(eq(usageRollups.grain, 'hour'), lt(usageRollups.bucket, before)))
        .returning({ id: usageRollups.id })
      return gone.length
    },
  }
}
