/**
 * The usage rollups' reads, on either dialect: the same queries run on both
 * (db/portable.ts). Only `add`, the flush, differs (one jsonb statement per
 * table on PostgreSQL, chunked multi-row upserts on libsql); it is in
 * store.pg.ts and store.sqlite.ts. Reads sum the day rows of a window (a few
 * thousand rows at 10M events: docs/PERFORMANCE.md "Admin dashboard").
 */
import { and, asc, eq, gte, lt, lte, sql, type SQL } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import { HISTOGRAM_COLUMNS } from './histogram'
import { histOf, type RollupPoint, type RollupSum, type UsageDim, type UsageKind, type UsageStore } from './store'

/** The summed columns of a rollup, by property. */
export const COUNTERS = ['count', 'errors', 'clientErrors', 'tokensIn', 'tokensOut', 'costMicroUsd', 'durationMs', ...HISTOGRAM_COLUMNS] as const

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

/**
 * @example
 * const usage = { ...usageQueries(pgPortable(db)), add }
 */
export function usageQueries({ db, t }: Portable): Omit<UsageStore, 'add'> {
  const { usageRollups, usageUsers } = t
  const sums = () => Object.fromEntries(COUNTERS.map((key) => [key, sql<number>`sum(${usageRollups[key]})`.mapWith(Number)])) as Record<(typeof COUNTERS)[number], SQL<number>>
  return {
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
