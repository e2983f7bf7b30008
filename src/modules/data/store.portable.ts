/**
 * The data walk, on either dialect: the same statements run on both
 * (db/portable.ts). Erasure and retention are rare and batched, so nothing
 * here is coalesced or prepared. Only `removeWhere` differs (how a delete
 * without RETURNING reports its count); it is in store.pg.ts and store.sqlite.ts.
 */
import { and, asc, count, eq, getTableName, gt, inArray, is, isNull, lt, Table, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Portable, PortableTables } from '../../../db/portable'
import type { TablePlan } from './plan'
import type { DataStore, Picked, Row } from './store'
import { columnOf, describeSchema, objectKeysIn, propertyOf, tableOf, toRow, type WalkTable } from './walk'

/**
 * Values per statement: bounded statements and short locks on PostgreSQL, and
 * well below SQLite's cap on bound parameters per statement.
 */
const CHUNK = 500

export const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

interface Walks {
  tables: Map<string, WalkTable<PgTable, PgColumn>>
  plans: TablePlan[]
}
const walked = new WeakMap<PortableTables, Walks>()

/** Every table of the dialect's schema with its plan, read once per dialect. */
function walksOf(t: PortableTables): Walks {
  let walks = walked.get(t)
  if (!walks) {
    // Tables of either dialect (`is(…, Table)`), seen under the PostgreSQL types like all of `t` (db/portable.ts).
    const tables = describeSchema<PgTable, PgColumn>(t as Record<string, unknown>, (value): value is PgTable => is(value, Table), getTableName)
    walks = { tables, plans: [...tables.values()].map((walk) => walk.plan) }
    walked.set(t, walks)
  }
  return walks
}

/**
 * @example
 * const data = { ...dataQueries(pgPortable(db.handle.orm)), removeWhere }
 * await data.count() // { users: 3, sessions: 12, … }
 */
export function dataQueries({ db, t }: Portable): Omit<DataStore, 'removeWhere'> {
  const { tables, plans } = walksOf(t)
  const keyOf = (name: string) => {
    const walk = tableOf(tables, name)
    const pk = walk.plan.primaryKey
    if (!pk) throw new Error(`data walk: table "${name}" has no single-column primary key`)
    return { walk, pk: columnOf(walk, pk.name) }
  }

  return {
    plans,
    async count() {
      const counts: Record<string, number> = {}
      for (const [name, walk] of tables) {
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
          .insert(t.erasedIdentities)
          .values({ subject, erasedAt: at })
          .onConflictDoUpdate({ target: t.erasedIdentities.subject, set: { erasedAt: at } })
      },
      async erasedAt(subject) {
        const [row] = await db.select().from(t.erasedIdentities).where(eq(t.erasedIdentities.subject, subject)).limit(1)
        return row?.erasedAt ?? null
      },
      async purge(before) {
        const gone = await db.delete(t.erasedIdentities).where(lt(t.erasedIdentities.erasedAt, before)).returning({ subject: t.erasedIdentities.subject })
        return gone.length
      },
    },
  }
}
