/** The usage rollups on libsql: the simplest correct SQL (multi-row upserts in chunks). */
import { and, asc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { usageRollups, usageUserDays, usageUsers } from '../../../db/schema/sqlite'
import { HISTOGRAM_COLUMNS } from './histogram'
import { histOf, rollupId, userDayId, type RollupPoint, type RollupSum, type UsageDim, type UsageKind, type UsageStore } from './store'

/** Rows per statement: 37 columns × 200 stays under SQLite's bound-parameter limit. */
const CHUNK = 200

const added = (column: { name: string }) => sql.raw(`"${column.name}" + excluded."${column.name}"`)

const COUNTERS = ['count', 'errors', 'clientErrors', 'tokensIn', 'tokensOut', 'costMicroUsd', 'durationMs', ...HISTOGRAM_COLUMNS] as const

const sums = () =>
  Object.fromEntries(COUNTERS.map((key) => [key, sql<number>`sum(${usageRollups[key]})`.mapWith(Number)])) as Record<(typeof COUNTERS)[number], SQL.Aliased<number> | SQL<number>>

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

export function createSqliteUsageStore(db: SqliteExec): UsageStore {
  return {
    async add(rollups, users) {
      for (let i = 0; i < rollups.length; i += CHUNK) {
        const values = rollups.slice(i, i + CHUNK).map(({ hist, ...delta }) => ({
          id: rollupId(delta),
          ...delta,
          ...Object.fromEntries(HISTOGRAM_COLUMNS.map((column, b) => [column, hist[b] ?? 0])),
        }))
        await db
          .insert(usageRollups)
          .values(values)
          .onConflictDoUpdate({
            target: usageRollups.id,
            set: Object.fromEntries(COUNTERS.map((key) => [key, added(usageRollups[key])])),
          })
      }
      for (let i = 0; i < users.length; i += CHUNK) {
        const values = users.slice(i, i + CHUNK).map((u) => ({ id: userDayId(u.userId, u.day), ...u }))
        // A day row that did not exist yet is the person's first event that day: it counts one daily active user.
        const existing = new Set(
          (await db.select({ id: usageUserDays.id }).from(usageUserDays).where(inArray(usageUserDays.id, values.map((v) => v.id)))).map((row) => row.id),
        )
        await db
          .insert(usageUserDays)
          .values(values)
          .onConflictDoUpdate({
            target: usageUserDays.id,
            set: { events: added(usageUserDays.events), tokens: added(usageUserDays.tokens), costMicroUsd: added(usageUserDays.costMicroUsd) },
          })
        const firstOfDay = new Map<string, number>()
        for (const v of values) if (!existing.has(v.id)) firstOfDay.set(v.day, (firstOfDay.get(v.day) ?? 0) + 1)
        if (firstOfDay.size > 0)
          await db
            .insert(usageRollups)
            .values(
              [...firstOfDay].map(([day, n]) => ({
                id: rollupId({ grain: 'day', kind: 'activity', dim: 'total', bucket: day, key: '' }),
                grain: 'day', bucket: day, kind: 'activity', dim: 'total', key: '',
                count: n, errors: 0, clientErrors: 0, tokensIn: 0, tokensOut: 0, costMicroUsd: 0, durationMs: 0,
              })),
            )
            .onConflictDoUpdate({ target: usageRollups.id, set: { count: added(usageRollups.count) } })
        const span = new Map<string, { first: string; last: string }>()
        for (const v of values) {
          const known = span.get(v.userId)
          if (!known) span.set(v.userId, { first: v.day, last: v.day })
          else {
            if (v.day < known.first) known.first = v.day
            if (v.day > known.last) known.last = v.day
          }
        }
        await db
          .insert(usageUsers)
          .values([...span].map(([userId, d]) => ({ userId, firstDay: d.first, lastDay: d.last })))
          .onConflictDoUpdate({
            target: usageUsers.userId,
            set: { firstDay: sql`min(${usageUsers.firstDay}, excluded.first_day)`, lastDay: sql`max(${usageUsers.lastDay}, excluded.last_day)` },
          })
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
