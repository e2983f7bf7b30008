/** Document metadata on PostgreSQL: a small table read by session or id; the documents of sessions being shown are read together (db/coalesce.ts). */
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import type { DocumentRow } from '../../../db/schema'
import { documents, sessions } from '../../../db/schema/pg'
import { outcomeFields, type DocumentStore } from './store'

const READING = ['pending', 'extracting']

export interface PgDocumentStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgDocumentStore(db: PgExec, { coalesce }: PgDocumentStoreOptions): DocumentStore {
  const live = (id: string) => and(eq(documents.id, id), isNull(documents.deletedAt))
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
    async insert(rows) {
      if (rows.length > 0) await db.insert(documents).values([...rows])
    },
    async find(id) {
      return (await db.select().from(documents).where(eq(documents.id, id)).limit(1))[0]
    },
    async findLive(id, userId) {
      const rows = await db
        .select({ document: documents })
        .from(documents)
        .innerJoin(sessions, eq(sessions.id, documents.sessionId))
        .where(and(live(id), eq(documents.userId, userId), eq(sessions.userId, userId), isNull(sessions.deletedAt)))
        .limit(1)
      return rows[0]?.document
    },
    forSession(sessionId) {
      return forSessions([sessionId])
    },
    async forSessions(sessionIds) {
      if (sessionIds.length === 0) return []
      return forSessions(sessionIds)
    },
    allForSession(sessionId) {
      return db.select().from(documents).where(eq(documents.sessionId, sessionId)).orderBy(asc(documents.id))
    },
    async usage(sessionId) {
      const [row] = await db
        .select({ files: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${documents.bytes}), 0)` })
        .from(documents)
        .where(and(eq(documents.sessionId, sessionId), isNull(documents.deletedAt)))
      return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) }
    },
    async startExtracting(id, at) {
      const rows = await db
        .update(documents)
        .set({ status: 'extracting', error: null, updatedAt: at })
        .where(and(live(id), inArray(documents.status, READING)))
        .returning({ id: documents.id })
      return rows.length > 0
    },
    async progress(id, pagesDone, pages) {
      await db.update(documents).set({ pagesDone, pages }).where(and(live(id), eq(documents.status, 'extracting')))
    },
    async finish(id, outcome, at) {
      const rows = await db
        .update(documents)
        .set(outcomeFields(outcome, at))
        .where(and(live(id), inArray(documents.status, READING)))
        .returning({ id: documents.id })
      return rows.length > 0
    },
    async softDelete(id, at) {
      const rows = await db.update(documents).set({ deletedAt: at, updatedAt: at }).where(live(id)).returning({ id: documents.id })
      return rows.length > 0
    },
    removeForSession(sessionId) {
      return db.delete(documents).where(eq(documents.sessionId, sessionId)).returning()
    },
  }
}
