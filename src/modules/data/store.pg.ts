/**
 * The data walk on PostgreSQL. The same statements as on libsql: erasure and
 * retention are rare and batched, so nothing here is coalesced or prepared.
 */
import { and, asc, count, eq, gt, inArray, is, isNull, lt, type SQL } from 'drizzle-orm'
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core'
import type { PgExec } from '../../../db/client'
import * as schema from '../../../db/schema/pg'
import type { DataStore, Picked, Row } from './store'
import { columnOf, describeSchema, objectKeysIn, propertyOf, tableOf, toRow } from './walk'

const TABLES = describeSchema<PgTable, PgColumn>(schema as Record<string, unknown>, (value): value is PgTable => is(value, PgTable), (table) => getTableConfig(table).name)
const PLANS = [...TABLES.values()].map((walk) => walk.plan)

/** Values per statement: bounded statements, and short locks. */
const CHUNK = 500

const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * @example
 * const data = createPgDataStore(db.handle.orm)
 * await data.count() // { users: 3, sessions: 12, … }
 */
export function createPgDataStore(db: PgExec): DataStore {
  const keyOf = (name: string) => {
    const walk = tableOf(TABLES, name)
    const pk = walk.plan.primaryKey
    if (!pk) throw new Error(`data walk: table "${name}" has no single-column primary key`)
    return { walk, pk: columnOf(walk, pk.name) }
  }

  return {
    plans: PLANS,
    async count() {
      const counts: Record<string, number> = {}
      for (const [name, walk] of TABLES) {
        const [row] = await db.select({ n: count() }).from(walk.table)
        counts[name] = row?.n ?? 0
      }
      return counts
    },
    async ids(table, column, values) {
      const { walk, pk } = keyOf(table)
      const found: string[] = []
      for (const chunk of chunks(values)) {
        const rows = await db.select({ id: pk }).from(walk.table).where(inArray(columnOf(walk, column), chunk))
        for (const row of rows) found.push(String(row.id))
      }
      return found
    },
    async pick(table, column, values, limit): Promise<Picked> {
      const { walk, pk } = keyOf(table)
      const ids: string[] = []
      const objectKeys: string[] = []
      for (const chunk of chunks(values)) {
        if (ids.length >= limit) break
        const rows = (await db
          .select()
          .from(walk.table)
          .where(inArray(columnOf(walk, column), chunk))
          .orderBy(asc(pk))
          .limit(limit - ids.length)) as Record<string, unknown>[]
        for (const row of rows) {
          ids.push(String(row[walk.plan.primaryKey!.key]))
          objectKeys.push(...objectKeysIn(walk.plan, row))
        }
      }
      return { ids, objectKeys }
    },
    async remove(table, ids) {
      const { walk, pk } = keyOf(table)
      let removed = 0
      for (const chunk of chunks(ids)) removed += (await db.delete(walk.table).where(inArray(pk, chunk)).returning({ id: pk })).length
      return removed
    },
    async removeWhere(table, column, values) {
      const walk = tableOf(TABLES, table)
      let removed = 0
      for (const chunk of chunks(values)) {
        const result = await db.delete(walk.table).where(inArray(columnOf(walk, column), chunk))
        removed += result.rowCount ?? 0
      }
      return removed
    },
    async rewrite(table, column, from, to, limit) {
      const { walk, pk } = keyOf(table)
      const target = columnOf(walk, column)
      const batch = db.select({ id: pk }).from(walk.table).where(eq(target, from)).limit(limit)
      const changed = await db.update(walk.table).set({ [propertyOf(walk.plan, column)]: to }).where(inArray(pk, batch)).returning({ id: pk })
      return changed.length
    },
    async olderThan(table, column, before, limit, options = {}) {
      const { walk, pk } = keyOf(table)
      const conditions: SQL[] = [lt(columnOf(walk, column), before)]
      if (options.nullColumn) conditions.push(isNull(columnOf(walk, options.nullColumn)))
      const rows = await db.select({ id: pk }).from(walk.table).where(and(...conditions)).orderBy(asc(columnOf(walk, column))).limit(limit)
      return rows.map((row) => String(row.id))
    },
    async rows(table, where, after, limit) {
      const { walk, pk } = keyOf(table)
      const conditions: SQL[] = []
      if (where) conditions.push(inArray(columnOf(walk, where.column), [...where.values]))
      if (after !== null) conditions.push(gt(pk, after))
      const rows = (await db.select().from(walk.table).where(and(...conditions)).orderBy(asc(pk)).limit(limit)) as Record<string, unknown>[]
      return rows.map((row): Row => toRow(walk.plan, row))
    },
    erasures: {
      async record(subject, at) {
        await db
          .insert(schema.erasedIdentities)
          .values({ subject, erasedAt: at })
          .onConflictDoUpdate({ target: schema.erasedIdentities.subject, set: { erasedAt: at } })
      },
      async erasedAt(subject) {
        const [row] = await db.select().from(schema.erasedIdentities).where(eq(schema.erasedIdentities.subject, subject)).limit(1)
        return row?.erasedAt ?? null
      },
      async purge(before) {
        const gone = await db.delete(schema.erasedIdentities).where(lt(schema.erasedIdentities.erasedAt, before)).returning({ subject: schema.erasedIdentities.subject })
        return gone.length
      },
    },
  }
}
