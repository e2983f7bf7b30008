/** Roadmap items on libsql: the shared queries (./store.portable.ts) and the ordering lock. */
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import type { RoadmapStore } from './store'
import { roadmapQueries } from './store.portable'

export function createSqliteRoadmapStore(db: SqliteExec): RoadmapStore {
  return {
    ...roadmapQueries(sqlitePortable(db)),
    async lockOrdering() {
      // SQLite: transactions of this process take turns (db/client.ts serialised()), and the file lock covers others.
    },
  }
}
