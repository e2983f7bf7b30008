/** Sessions on libsql: the simplest correct SQL; hot reads prepared once. */
import { and, asc, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import type { SessionRow } from '../../../db/schema'
import { byGroup, createCoalescer } from '../../../db/coalesce'
import { documents, sessions } from '../../../db/schema/sqlite'
import { containsPattern } from '../../../db/like'
import { ROWS_PER_INSERT, type SessionStore } from './store'

export function createSqliteSessionStore(db: SqliteExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): SessionStore {
  /** Sessions of councils that reach a stage together: one UPDATE per stage, per turn. */
  const setRunningTogether = createCoalescer<{ id: string; stage: string }, void>(
    (items) =>
      byGroup(
        items,
        (item) => item.stage,
        async (group) => {
          await db.update(sessions).set({ status: 'running', stage: group[0]!.stage, updatedAt: new Date() }).where(inArray(sessions.id, group.map((item) => item.id)))
          return group.map(() => undefined)
        },
      ),
    { wait: 'turn' },
  )
  /** Single-session reads of one turn (a burst of runs, the councils they start) share a statement; ownership is checked per caller. */
  const readLive = createCoalescer<string, SessionRow | undefined>(
    async (ids) => {
      const rows = await db.select().from(sessions).where(and(inArray(sessions.id, [...new Set(ids)]), isNull(sessions.deletedAt)))
      const byId = new Map(rows.map((row) => [row.id, row]))
      return ids.map((id) => byId.get(id))
    },
    { wait: 'turn' },
  )
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => {
    const live = (id: ReturnType<typeof sql.placeholder>) =>
      and(eq(sessions.id, id), eq(sessions.userId, sql.placeholder('userId')), isNull(sessions.deletedAt))
    const page = (after: boolean) =>
      db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, sql.placeholder('userId')), isNull(sessions.deletedAt), after ? lt(sessions.id, sql.placeholder('after')) : undefined))
        .orderBy(desc(sessions.id))
        .limit(sql.placeholder('limit'))
        .prepare()
    return {
      liveById: db.select().from(sessions).where(live(sql.placeholder('id'))).limit(1).prepare(),
      firstPage: page(false),
      nextPage: page(true),
    }
  }
  const queries = () => (prepared ??= prepare())

  return {
    async insert(row) {
      await db.insert(sessions).values(row)
    },
    async insertMany(rows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await db.insert(sessions).values(rows.slice(i, i + ROWS_PER_INSERT))
    },
    async findLive(id, userId) {
      if (!coalesce) return (await queries().liveById.all({ id, userId }))[0]
      const row = await readLive.add(id)
      return row?.userId === userId ? row : undefined
    },
    async page(userId, after, limit) {
      const rows = await (after ? queries().nextPage.all({ userId, after, limit }) : queries().firstPage.all({ userId, limit }))
      if (rows.length === 0) return { rows, documents: [] }
      const ids = rows.map((row) => row.id)
      return {
        rows,
        documents: await db.select().from(documents).where(and(inArray(documents.sessionId, ids), isNull(documents.deletedAt))).orderBy(asc(documents.id)),
      }
    },
    search(userId, { q, status }, after, limit) {
      return db
        .select()
        .from(sessions)
        .where(
          and(
            eq(sessions.userId, userId),
            isNull(sessions.deletedAt),
            q ? sql`lower(${sessions.question}) like ${containsPattern(q)} escape '\\'` : undefined,
            status ? eq(sessions.status, status) : undefined,
            after ? lt(sessions.id, after) : undefined,
          ),
        )
        .orderBy(desc(sessions.id))
        .limit(limit)
    },
    manyLive(userId, ids) {
      return db.select().from(sessions).where(and(eq(sessions.userId, userId), inArray(sessions.id, [...ids]), isNull(sessions.deletedAt)))
    },
    async findOwned(id, userId) {
      return (await db.select().from(sessions).where(and(eq(sessions.id, id), eq(sessions.userId, userId))).limit(1))[0]
    },
    async update(id, fields) {
      await db.update(sessions).set({ ...fields, updatedAt: new Date() }).where(eq(sessions.id, id))
    },
    async updateMany(ids, fields) {
      if (ids.length > 0) await db.update(sessions).set({ ...fields, updatedAt: new Date() }).where(inArray(sessions.id, [...ids]))
    },
    async liveById(id) {
      return (await db.select().from(sessions).where(and(eq(sessions.id, id), isNull(sessions.deletedAt))).limit(1))[0]
    },
    async setRunning(id, stage) {
      if (coalesce) return setRunningTogether.add({ id, stage })
      await db.update(sessions).set({ status: 'running', stage, updatedAt: new Date() }).where(eq(sessions.id, id))
    },
    async succeed(id, { at, ...totals }) {
      await db.update(sessions).set({ status: 'succeeded', stage: 'synthesis', ...totals, updatedAt: at }).where(eq(sessions.id, id))
    },
    async softDelete(id, userId, at) {
      const rows = await db
        .update(sessions)
        .set({ deletedAt: at, updatedAt: at })
        .where(and(eq(sessions.id, id), eq(sessions.userId, userId), isNull(sessions.deletedAt)))
        .returning({ id: sessions.id })
      return rows.length > 0
    },
    async remove(id) {
      const [row] = await db.delete(sessions).where(eq(sessions.id, id)).returning({ userId: sessions.userId })
      return row
    },
  }
}
