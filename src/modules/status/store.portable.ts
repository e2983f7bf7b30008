/** The status page's rows, on either dialect: the same queries run on both (db/portable.ts; see ./store.ts). */
import { and, asc, count, desc, eq, gte, inArray, isNull, lt, or, sql } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import type { IncidentRow } from '../../../db/schema'
import { dayTotals, sampleId, type StatusStore } from './store'

/**
 * @example
 * const status = createStatusStore(pgPortable(db.handle.orm))
 * await status.recordSamples([{ component: 'database', at, status: 'ok', latencyMs: 2 }])
 */
export function createStatusStore({ db, t }: Portable): StatusStore {
  const { incidents, incidentUpdates, statusDays, statusSamples } = t
  const withUpdates = async (rows: IncidentRow[]) => {
    if (rows.length === 0) return []
    const updates = await db
      .select()
      .from(incidentUpdates)
      .where(inArray(incidentUpdates.incidentId, rows.map((row) => row.id)))
      .orderBy(asc(incidentUpdates.at), asc(incidentUpdates.id))
    return rows.map((row) => ({ ...row, updates: updates.filter((update) => update.incidentId === row.id) }))
  }

  return {
    async recordSamples(samples) {
      if (samples.length === 0) return 0
      const inserted = await db
        .insert(statusSamples)
        .values(samples.map((s) => ({ id: sampleId(s), component: s.component, at: s.at, status: s.status, latencyMs: s.latencyMs })))
        .onConflictDoNothing()
        .returning({ component: statusSamples.component, at: statusSamples.at, status: statusSamples.status })
      for (const day of dayTotals(inserted))
        await db
          .insert(statusDays)
          .values(day)
          .onConflictDoUpdate({
            target: statusDays.id,
            set: {
              samples: sql`${statusDays.samples} + ${day.samples}`,
              up: sql`${statusDays.up} + ${day.up}`,
              degraded: sql`${statusDays.degraded} + ${day.degraded}`,
            },
          })
      return inserted.length
    },
    uptimeSince(since) {
      return db
        .select({
          component: statusSamples.component,
          samples: count(),
          up: sql<number>`coalesce(sum(case when ${statusSamples.status} = 'fail' then 0 else 1 end), 0)`.mapWith(Number),
        })
        .from(statusSamples)
        .where(gte(statusSamples.at, since))
        .groupBy(statusSamples.component)
    },
    async latest() {
      const newest = db
        .select({ component: statusSamples.component, at: sql`max(${statusSamples.at})`.as('newest_at') })
        .from(statusSamples)
        .groupBy(statusSamples.component)
        .as('newest')
      return db
        .select({ component: statusSamples.component, at: statusSamples.at, status: statusSamples.status, latencyMs: statusSamples.latencyMs })
        .from(statusSamples)
        .innerJoin(newest, and(eq(newest.component, statusSamples.component), eq(newest.at, statusSamples.at)))
    },
    days(fromDay) {
      return db.select().from(statusDays).where(gte(statusDays.day, fromDay)).orderBy(asc(statusDays.day))
    },
    async pruneSamples(before, limit) {
      const ids = db.select({ id: statusSamples.id }).from(statusSamples).where(lt(statusSamples.at, before)).limit(limit)
      const gone = await db.delete(statusSamples).where(inArray(statusSamples.id, ids)).returning({ id: statusSamples.id })
      return gone.length
    },
    async pruneDays(beforeDay) {
      const gone = await db.delete(statusDays).where(lt(statusDays.day, beforeDay)).returning({ id: statusDays.id })
      return gone.length
    },

    async insertIncident(row, updates) {
      await db.insert(incidents).values(row)
      if (updates.length > 0) await db.insert(incidentUpdates).values([...updates])
    },
    async updateIncident(id, patch, updates) {
      const [row] = await db.update(incidents).set(patch).where(eq(incidents.id, id)).returning()
      if (row && updates.length > 0) await db.insert(incidentUpdates).values([...updates])
      return row
    },
    async incident(id) {
      const rows = await db.select().from(incidents).where(eq(incidents.id, id))
      return (await withUpdates(rows))[0]
    },
    async current(resolvedSince, limit) {
      const rows = await db
        .select()
        .from(incidents)
        .where(or(isNull(incidents.resolvedAt), gte(incidents.resolvedAt, resolvedSince)))
        .orderBy(desc(incidents.startsAt), desc(incidents.id))
        .limit(limit)
      return withUpdates(rows)
    },
    async list(after, limit) {
      const rows = await db
        .select()
        .from(incidents)
        .where(after ? lt(incidents.id, after) : undefined)
        .orderBy(desc(incidents.id))
        .limit(limit)
      return withUpdates(rows)
    },
  }
}
