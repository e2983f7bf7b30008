/** Sessions on PostgreSQL: prepared statements, and concurrent reads sharing statements (db/coalesce.ts). */
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { byGroup, createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { SessionRow } from '../../../db/schema'
import { sessions } from '../../../db/schema/pg'
import type { SessionStore } from './store'

export interface PgSessionStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgSessionStore(db: PgExec, { coalesce }: PgSessionStoreOptions): SessionStore {
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => {
    const page = (after: boolean, name: string) =>
      db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, sql.placeholder('userId')), isNull(sessions.deletedAt), after ? lt(sessions.id, sql.placeholder('after')) : undefined))
        .orderBy(desc(sessions.id))
        .limit(sql.placeholder('limit'))
        .prepare(name)
    return {
      liveById: db
        .select()
        .from(sessions)
        .where(and(eq(sessions.id, sql.placeholder('id')), eq(sessions.userId, sql.placeholder('userId')), isNull(sessions.deletedAt)))
        .limit(1)
        .prepare('sessions_live_by_id'),
      liveByIds: db
        .select()
        .from(sessions)
        .where(and(sql`${sessions.id} = any(${sql.placeholder('ids')}::text[])`, isNull(sessions.deletedAt)))
        .prepare('sessions_live_by_ids'),
      firstPage: page(false, 'sessions_first_page'),
      nextPage: page(true, 'sessions_next_page'),
    }
  }
  const queries = () => (prepared ??= prepare())
  const readPage = (userId: string, after: string | null, limit: number) =>
    after ? queries().nextPage.execute({ userId, after, limit }) : queries().firstPage.execute({ userId, limit })

  /**
   * Single-session reads that arrive together share one statement: under Bun
   * each pg round trip costs ~45 µs of the server's CPU whatever it returns,
   * which made it most of a read's cost. Each request's rows come from a
   * statement sent after it arrived, so a read still sees every write that
   * finished before it; ownership is checked per request.
   */
  const readLive = createCoalescer<string, SessionRow | undefined>(async (ids) => {
    const rows = await queries().liveByIds.execute({ ids: [...new Set(ids)] })
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  })
  /**
   * List reads are coalesced the same way: each batch sends one statement per
   * distinct page, and requests for the same page (one user polling from several
   * tabs, say) share its rows. A page whose statement fails fails its own requests only.
   */
  const readPages = createCoalescer<{ userId: string; after: string | null; limit: number }, SessionRow[]>((requests) =>
    byGroup(
      requests,
      (request) => `${request.userId}|${request.after ?? ''}|${request.limit}`,
      async (same) => {
        const { userId, after, limit } = same[0]!
        const rows = await readPage(userId, after, limit).catch((error: unknown) => new ItemFailure(error))
        return same.map(() => rows)
      },
    ),
  )

  return {
    async insert(row) {
      await db.insert(sessions).values(row)
    },
    async findLive(id, userId) {
      if (!coalesce) return (await queries().liveById.execute({ id, userId }))[0]
      const row = await readLive.add(id)
      return row?.userId === userId ? row : undefined
    },
    page(userId, after, limit) {
      return coalesce ? readPages.add({ userId, after, limit }) : readPage(userId, after, limit)
    },
    async findOwned(id, userId) {
      return (await db.select().from(sessions).where(and(eq(sessions.id, id), eq(sessions.userId, userId))).limit(1))[0]
    },
    async update(id, fields) {
      await db.update(sessions).set({ ...fields, updatedAt: new Date() }).where(eq(sessions.id, id))
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
