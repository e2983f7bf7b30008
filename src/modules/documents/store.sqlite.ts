/** Document metadata on libsql: the shared queries (./store.portable.ts); a small table read by session or id, so plain statements do. */
import { and, asc, eq, inArray, isNull } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import { documents } from '../../../db/schema/sqlite'
import type { DocumentStore } from './store'
import { documentQueries } from './store.portable'

export function createSqliteDocumentStore(db: SqliteExec): DocumentStore {
  return {
    ...documentQueries(sqlitePortable(db)),
    forSession(sessionId) {
      return db
        .select()
        .from(documents)
        .where(and(eq(documents.sessionId, sessionId), isNull(documents.deletedAt)))
        .orderBy(asc(documents.id))
    },
    async forSessions(sessionIds) {
      if (sessionIds.length === 0) return []
      return db
        .select()
        .from(documents)
        .where(and(inArray(documents.sessionId, [...sessionIds]), isNull(documents.deletedAt)))
        .orderBy(asc(documents.id))
    },
  }
}
