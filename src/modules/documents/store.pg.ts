/** Document metadata on PostgreSQL: the shared queries (./store.portable.ts); the documents of sessions being shown are read together (db/coalesce.ts). */
import { and, asc, isNull, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import { pgPortable } from '../../../db/portable'
import type { DocumentRow } from '../../../db/schema'
import { documents } from '../../../db/schema/pg'
import type { DocumentStore } from './store'
import { documentQueries } from './store.portable'

export interface PgDocumentStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgDocumentStore(db: PgExec, { coalesce }: PgDocumentStoreOptions): DocumentStore {
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () =>
    db
      .select()
      .from(documents)
      .where(and(sql`${documents.sessionId} = any(${sql.placeholder('ids')}::text[])`, isNull(documents.deletedAt)))
      .orderBy(asc(documents.id))
      .prepare('documents_for_sessions')
  const forSessionsNow = (ids: readonly string[]) => (prepared ??= prepare()).execute({ ids: [...ids] })
  /**
   * The documents of the sessions that list and read requests show, for requests
   * that arrive together, in one statement (db/coalesce.ts): each request's rows
   * come from a statement sent after it arrived, and each gets only the sessions
   * it asked for (those its caller may see: the session store checked them).
   */
  const readForSessions = createCoalescer<readonly string[], DocumentRow[]>(async (asked) => {
    const rows = await forSessionsNow([...new Set(asked.flat())])
    if (asked.length === 1) return [rows]
    return asked.map((ids) => {
      if (ids.length === 0) return []
      const wanted = new Set(ids)
      return rows.filter((row) => wanted.has(row.sessionId))
    })
  })
  const forSessions = (ids: readonly string[]) => (coalesce ? readForSessions.add(ids) : forSessionsNow(ids))
  return {
    ...documentQueries(pgPortable(db)),
    forSession(sessionId) {
      return forSessions([sessionId])
    },
    async forSessions(sessionIds) {
      if (sessionIds.length === 0) return []
      return forSessions(sessionIds)
    },
  }
}
