/**
 * The usage rollups on PostgreSQL. A flush is one statement per table: the
 * deltas travel as one jsonb parameter (jsonb_to_recordset) and are added to
 * their rows by INSERT … ON CONFLICT DO UPDATE, sorted by id so two processes
 * flushing overlapping rows lock them in the same order and cannot deadlock.
 * The reads are shared with libsql (./store.portable.ts).
 */
import { sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import { HISTOGRAM_COLUMNS } from './histogram'
import { rollupId, userDayId, type UsageStore } from './store'
import { usageQueries } from './store.portable'

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

export function createPgUsageStore(db: PgExec): UsageStore {
  return {
    ...usageQueries(pgPortable(db)),
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
  }
}
