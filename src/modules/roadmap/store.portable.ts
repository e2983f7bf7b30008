/**
 * Roadmap items, on either dialect: the same queries run on both
 * (db/portable.ts). Only `lockOrdering` differs; it is in store.pg.ts and
 * store.sqlite.ts.
 */
import { and, asc, count, eq, inArray, or, sql, type SQL } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import { containsPattern, type RoadmapStore } from './store'

/**
 * @example
 * const roadmap = { ...roadmapQueries(pgPortable(db)), lockOrdering }
 */
export function roadmapQueries({ db, t }: Portable): Omit<RoadmapStore, 'lockOrdering'> {
  const items = t.roadmapItems
  const rank = sql`(case ${items.phase} when 'now' then 0 when 'next' then 1 else 2 end)`
  return {
    async insert(row) {
      await db.insert(items).values(row)
    },
    async find(id) {
      return (await db.select().from(items).where(eq(items.id, id)).limit(1))[0]
    },
    page(filters, after, limit) {
      const conditions: Array<SQL | undefined> = [
        filters.phase ? eq(items.phase, filters.phase) : undefined,
        filters.status ? eq(items.status, filters.status) : undefined,
        filters.q
          ? or(
              sql`lower(${items.title}) like ${containsPattern(filters.q)} escape '\\'`,
              sql`lower(${items.description}) like ${containsPattern(filters.q)} escape '\\'`,
            )
          : undefined,
        after ? sql`(${rank}, ${items.position}, ${items.id}) > (${after.rank}, ${after.position}, ${after.id})` : undefined,
      ]
      return db
        .select()
        .from(items)
        .where(and(...conditions))
        .orderBy(rank, asc(items.position), asc(items.id))
        .limit(limit)
    },
    async titles(ids) {
      if (ids.length === 0) return []
      return db.select({ id: items.id, title: items.title, phase: items.phase }).from(items).where(inArray(items.id, [...ids]))
    },
    outline() {
      return db.select({ id: items.id, title: items.title, phase: items.phase }).from(items).orderBy(rank, asc(items.position), asc(items.id))
    },
    async update(id, fields) {
      return (await db.update(items).set(fields).where(eq(items.id, id)).returning())[0]
    },
    async remove(id) {
      return (await db.delete(items).where(eq(items.id, id)).returning())[0]
    },
    orderOf(phase) {
      return db
        .select({ id: items.id, position: items.position })
        .from(items)
        .where(eq(items.phase, phase))
        .orderBy(asc(items.position), asc(items.id))
    },
    async setPositions(changes) {
      for (const change of changes) await db.update(items).set({ position: change.position }).where(eq(items.id, change.id))
    },
    async count() {
      // count() is mapped to a number on both dialects.
      return (await db.select({ n: count() }).from(items))[0]?.n ?? 0
    },
  }
}
