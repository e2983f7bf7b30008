/** Roadmap items on PostgreSQL: the shared queries (./store.portable.ts) and the ordering lock. */
import { sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import type { RoadmapStore } from './store'
import { roadmapQueries } from './store.portable'

export function createPgRoadmapStore(db: PgExec): RoadmapStore {
  return {
    ...roadmapQueries(pgPortable(db)),
    async lockOrdering() {
      // Two admins moving items at once would each renumber from a stale order; this makes them take turns.
      await db.execute(sql`select pg_advisory_xact_lock(hashtext('roadmap_items:order'))`)
    },
  }
}
