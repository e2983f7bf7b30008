/** Sessions on PostgreSQL: prepared statements, and concurrent reads sharing statements (db/coalesce.ts). */
import type pg from 'pg'
import { and, asc, desc, eq, getTableColumns, inArray, isNull, lt, sql, type Column } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { byGroup, createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { DocumentRow, SessionRow } from '../../../db/schema'
import { documents, sessions } from '../../../db/schema/pg'
import { containsPattern } from '../../../db/like'
import { createSessionListCache } from './list-cache.pg'
import { ROWS_PER_INSERT, type SessionPage, type SessionStore, type SessionTotals } from './store'

export interface PgSessionStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
  /**
   * A new connection to LISTEN on: list pages are then kept in memory and served
   * while provably current (list-cache.pg.ts), within `megabytes`
   * (SESSION_LIST_CACHE_MB; 0 turns it off). Only with `coalesce`.
   */
  listCache?: { listen: () => pg.Client; megabytes: number }
}

interface PageRequest {
  userId: string
  after: string | null
  limit: number
}

/**
 * Rows of a table as a shared page statement sends them: each row one JSON
 * array of its columns (PostgreSQL's own text for every value, timestamps in
 * ISO 8601), all of a page's rows one JSON value, so the driver decodes one
 * field per page instead of one per column per row; each value is then mapped
 * by its drizzle column, as a plain select would map it.
 */
function jsonRows<Row>(table: Parameters<typeof getTableColumns>[0], alias: string) {
  const columns: Array<[string, Column]> = Object.entries(getTableColumns(table))
  return {
    values: sql.raw(`json_build_array(${columns.map(([, column]) => `${alias}."${column.name}"`).join(', ')})`),
    read(values: unknown[]): Row {
      const row: Record<string, unknown> = {}
      for (let i = 0; i < columns.length; i++) {
        const [key, column] = columns[i]!
        const value = values[i]
        row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
      }
      return row as Row
    },
  }
}
const sessionJson = jsonRows<SessionRow>(sessions, 's')
const documentJson = jsonRows<DocumentRow>(documents, 'd')

export function createPgSessionStore(db: PgExec, { coalesce, listCache }: PgSessionStoreOptions): SessionStore {
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
  /** A page and its documents in two statements: inside a transaction, and when a shared statement failed. */
  const readPage = async (userId: string, after: string | null, limit: number): Promise<SessionPage> => {
    const rows = await (after ? queries().nextPage.execute({ userId, after, limit }) : queries().firstPage.execute({ userId, limit }))
    if (rows.length === 0) return { rows, documents: [] }
    const ids = rows.map((row) => row.id)
    return {
      rows,
      documents: await db.select().from(documents).where(and(inArray(documents.sessionId, ids), isNull(documents.deletedAt))).orderBy(asc(documents.id)),
    }
  }

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
   * List reads are coalesced too, across users: a batch's distinct pages (user,
   * cursor, limit) are read by one statement — a lateral join of each page's own
   * keyset query over the batch's pages (first pages and cursor pages apart, so
   * each keeps its index range: at most two statements a batch), each page with
   * its sessions' live documents — and requests for the same page share it.
   * Each page is still its owner's live rows only, and each request's rows come
   * from a statement sent after it arrived. If a shared statement fails, its
   * pages are read one by one, so a bad page fails its own requests only.
   * Statements per list request under the spread benchmark: ~0.4 → ~0.2
   * (docs/PERFORMANCE.md, "Load and soak").
   */
  const readOnePage = async (page: PageRequest) => readPage(page.userId, page.after, page.limit).catch((error: unknown) => new ItemFailure(error))
  const readManyPages = async (pages: PageRequest[], after: boolean): Promise<Array<SessionPage | ItemFailure>> => {
    const wanted = JSON.stringify(pages.map((page, n) => ({ n, user_id: page.userId, after: page.after, lim: page.limit })))
    try {
      const { rows } = await db.execute<{ n: number; rows: unknown[][]; documents: unknown[][] }>(sql`
        select r.n, p.rows, q.documents from json_to_recordset(${wanted}::json) as r(n int, user_id text, after text, lim int)
        cross join lateral (
          select coalesce(json_agg(${sessionJson.values} order by s.id desc), '[]') as rows, array_agg(s.id) as ids
          from (
            select * from sessions
            where sessions.user_id = r.user_id and sessions.deleted_at is null ${after ? sql`and sessions.id < r.after` : sql``}
            order by sessions.id desc limit r.lim
          ) s
        ) p
        cross join lateral (
          select coalesce(json_agg(${documentJson.values} order by d.id), '[]') as documents
          from documents d where d.session_id = any(p.ids) and d.deleted_at is null
        ) q`)
      const out: SessionPage[] = pages.map(() => ({ rows: [], documents: [] }))
      for (const page of rows) out[page.n] = { rows: page.rows.map(sessionJson.read), documents: page.documents.map(documentJson.read) }
      return out
    } catch {
      return Promise.all(pages.map(readOnePage))
    }
  }
  const readPages = createCoalescer<PageRequest, SessionPage>(async (requests) => {
    // Distinct pages, each with the requests that asked for it.
    const distinct = new Map<string, { page: PageRequest; asked: number[] }>()
    requests.forEach((request, i) => {
      const key = `${request.userId}|${request.after ?? ''}|${request.limit}`
      const seen = distinct.get(key)
      if (seen) seen.asked.push(i)
      else distinct.set(key, { page: request, asked: [i] })
    })
    const groups = [...distinct.values()]
    const first = groups.filter((group) => group.page.after === null)
    const next = groups.filter((group) => group.page.after !== null)
    const results: Array<SessionPage | ItemFailure> = new Array(requests.length)
    await Promise.all(
      ([[first, false], [next, true]] as const).map(async ([set, after]) => {
        if (set.length === 0) return
        const pages = await readManyPages(
          set.map((group) => group.page),
          after,
        )
        set.forEach((group, k) => group.asked.forEach((i) => (results[i] = pages[k]!)))
      }),
    )
    return results
  })

  const lists =
    coalesce && listCache && listCache.megabytes > 0
      ? createSessionListCache({
          connect: listCache.listen,
          maxBytes: listCache.megabytes * 1024 * 1024,
          viaPool: {
            schema: async () =>
              (
                await db.execute<{ schema: string }>(
                  sql`select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = 'sessions'::regclass`,
                )
              ).rows[0]!.schema,
            notify: (payload) => db.execute(sql`select pg_notify('session_lists', ${payload})`),
          },
        })
      : null

  /** Stage changes of councils that move together: one UPDATE … WHERE id = any(…) per stage. */
  const setRunningTogether = createCoalescer<{ id: string; stage: string }, void>((items) =>
    byGroup(
      items,
      (item) => item.stage,
      async (group) => {
        await db
          .update(sessions)
          .set({ status: 'running', stage: group[0]!.stage, updatedAt: new Date() })
          .where(inArray(sessions.id, group.map((item) => item.id)))
        return group.map(() => undefined)
      },
    ),
  )

  const succeedOne = (id: string, { at, ...totals }: SessionTotals) =>
    db.update(sessions).set({ status: 'succeeded', stage: 'synthesis', ...totals, updatedAt: at }).where(eq(sessions.id, id))
  /**
   * The totals of councils that succeed together. Councils started together
   * finish together (1,000 within a few ms in the jobs benchmark), and single-row
   * UPDATEs of the session and then the job were the largest part of the time
   * between the last synthesis and the last job marked done (+303 ms → +34 ms
   * with batches; (c) 4.25 → 3.83 s, docs/PERFORMANCE.md). A batch is one UPDATE,
   * its rows passed as one JSON parameter. If it fails, the batch is written row
   * by row, so a bad row fails its own council only.
   */
  const succeedTogether = createCoalescer<{ id: string; totals: SessionTotals }, void>(async (items) => {
    if (items.length > 1) {
      const rows = JSON.stringify(
        items.map(({ id, totals }) => ({
          id,
          partial: totals.partial,
          tokens_in: totals.tokensIn,
          tokens_out: totals.tokensOut,
          cost_micro_usd: totals.costMicroUsd,
          error: totals.error,
          at: totals.at.toISOString(),
        })),
      )
      try {
        await db.execute(sql`
          update sessions as s set status = 'succeeded', stage = 'synthesis', partial = r.partial, tokens_in = r.tokens_in,
            tokens_out = r.tokens_out, cost_micro_usd = r.cost_micro_usd, error = r.error, updated_at = r.at
          from json_to_recordset(${rows}::json) as r(id text, partial boolean, tokens_in integer, tokens_out integer,
            cost_micro_usd bigint, error text, at timestamptz)
          where s.id = r.id`)
        return items.map(() => undefined)
      } catch {
        // Row by row below, each council on its own.
      }
    }
    const results: Array<void | ItemFailure> = []
    for (const { id, totals } of items) results.push(await succeedOne(id, totals).then(() => undefined, (error: unknown) => new ItemFailure(error)))
    return results
  })

  return {
    async insert(row) {
      await db.insert(sessions).values(row)
    },
    async insertMany(rows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await db.insert(sessions).values(rows.slice(i, i + ROWS_PER_INSERT))
    },
    async findLive(id, userId) {
      if (!coalesce) return (await queries().liveById.execute({ id, userId }))[0]
      const row = await readLive.add(id)
      return row?.userId === userId ? row : undefined
    },
    page(userId, after, limit) {
      if (!coalesce) return readPage(userId, after, limit)
      const request = { userId, after, limit }
      return lists ? lists.read(request, () => readPages.add(request)) : readPages.add(request)
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
      return coalesce ? readLive.add(id) : (await queries().liveByIds.execute({ ids: [id] }))[0]
    },
    async setRunning(id, stage) {
      if (coalesce) return setRunningTogether.add({ id, stage })
      await db.update(sessions).set({ status: 'running', stage, updatedAt: new Date() }).where(eq(sessions.id, id))
    },
    async succeed(id, totals) {
      if (coalesce) return succeedTogether.add({ id, totals })
      await succeedOne(id, totals)
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
