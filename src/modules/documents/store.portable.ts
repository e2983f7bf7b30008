/**
 * Document metadata, on either dialect: the same queries run on both
 * (db/portable.ts). Only the reads by session (`forSession`, `forSessions`:
 * shared between callers and prepared on PostgreSQL, plain on libsql) are in
 * store.pg.ts and store.sqlite.ts.
 */
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import { outcomeFields, type DocumentStore } from './store'

const READING = ['pending', 'extracting']

/**
 * @example
 * const documents = { ...documentQueries(pgPortable(db)), forSession, forSessions }
 */
export function documentQueries({ db, t }: Portable): Omit<DocumentStore, 'forSession' | 'forSessions'> {
  const { documents, sessions } = t
  const live = (id: string) => and(eq(documents.id, id), isNull(documents.deletedAt))
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
