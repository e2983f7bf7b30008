/** The usage rollups on libsql: the shared reads (./store.portable.ts) and the simplest correct flush (multi-row upserts in chunks). */
import { inArray, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import { usageRollups, usageUserDays, usageUsers } from '../../../db/schema/sqlite'
import { HISTOGRAM_COLUMNS } from './histogram'
import { rollupId, userDayId, type UsageStore } from './store'
import { COUNTERS, usageQueries } from './store.portable'

/** Rows per statement: 37 columns × 200 stays under SQLite's bound-parameter limit. */
const CHUNK = 200

const added = (column: { name: string }) => sql.raw(`"${column.name}" + excluded."${column.name}"`)

export function createSqliteUsageStore(db: SqliteExec): UsageStore {
  return {
    ...usageQueries(sqlitePortable(db)),
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
  }
}
