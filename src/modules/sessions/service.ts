/**
 * Council sessions: create, list (owner's only, keyset-paginated), read,
 * soft or hard delete. Another user's session is "not found", never "forbidden".
 * Every write happens in a transaction together with its audit event.
 */
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm'
import { isId, newId, prepareQuery, type Database } from '../../../db/client'
import { byGroup, createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { Actor } from '../../../plugins/auth'
import { notFound, unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { AuditLog } from '../audit/service'
import type { CreateSessionInput, SessionStatus, SessionSummaryView } from './model'

import type { RequestMeta } from '../../../plugins/rbac'

export interface SessionsDeps {
  db: Database
  audit: AuditLog
  questionMaxChars: number
}

type SessionRow = typeof import('../../../db/schema/sqlite').sessions.$inferSelect

export const DEFAULT_PALETTE = 'default'

export function toSummary(row: SessionRow): SessionSummaryView {
  return {
    id: row.id,
    question: row.question,
    palette_id: row.paletteId,
    status: row.status as SessionStatus,
    stage: row.stage,
    partial: row.partial,
    tokens: { input: row.tokensIn, output: row.tokensOut, total: row.tokensIn + row.tokensOut },
    cost_usd: row.costMicroUsd / 1_000_000,
    documents: [],
    error: row.error,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

const auditFields = (actor: Actor, meta: RequestMeta) => ({
  actorId: actor.userId,
  actor: actor.email,
  role: actor.roles.includes('admin') ? 'admin' : (actor.roles[0] ?? 'user'),
  requestId: meta.requestId,
  ip: meta.ip,
})

/**
 * @example
 * const sessions = createSessionsService({ db, audit, questionMaxChars: 8000 })
 * const row = await sessions.create(actor, { question: 'Why?' }, meta)
 */
export function createSessionsService({ db, audit, questionMaxChars }: SessionsDeps) {
  const { sessions, jobs, jobLogs } = db.t

  // The hot reads, prepared once (see prepareQuery).
  const liveById = prepareQuery<SessionRow>(
    db,
    'sessions_live_by_id',
    db.orm
      .select()
      .from(sessions)
      .where(
        and(eq(sessions.id, sql.placeholder('id')), eq(sessions.userId, sql.placeholder('userId')), isNull(sessions.deletedAt)),
      )
      .limit(1),
  )
  /**
   * On PostgreSQL, single-session reads that arrive together share one
   * statement (db/coalesce.ts): under Bun each pg round trip costs ~45 µs of the
   * server's CPU whatever it returns, which made it most of a read's cost. Each
   * request's rows come from a statement sent after it arrived, so a read still
   * sees every write that finished before it; ownership is checked per request.
   */
  const liveByIds = prepareQuery<SessionRow>(
    db,
    'sessions_live_by_ids',
    db.orm
      .select()
      .from(sessions)
      .where(and(sql`${sessions.id} = any(${sql.placeholder('ids')}::text[])`, isNull(sessions.deletedAt))),
  )
  const readLive = createCoalescer<string, SessionRow | undefined>(async (ids) => {
    const rows = await liveByIds({ ids: [...new Set(ids)] })
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  })
  const findLive = async (id: string, userId: string): Promise<SessionRow | undefined> => {
    if (db.dialect !== 'pg') return (await liveById({ id, userId }))[0]
    const row = await readLive.add(id)
    return row?.userId === userId ? row : undefined
  }

  const pageWhere = (after: boolean) =>
    and(
      eq(sessions.userId, sql.placeholder('userId')),
      isNull(sessions.deletedAt),
      after ? lt(sessions.id, sql.placeholder('after')) : undefined,
    )
  const pageQuery = (after: boolean) =>
    db.orm.select().from(sessions).where(pageWhere(after)).orderBy(desc(sessions.id)).limit(sql.placeholder('limit'))
  const firstPage = prepareQuery<SessionRow>(db, 'sessions_first_page', pageQuery(false))
  const nextPage = prepareQuery<SessionRow>(db, 'sessions_next_page', pageQuery(true))

  /**
   * List reads are coalesced like single reads: each batch sends one statement
   * per distinct page asked for, and requests for the same page (the same user
   * polling from several tabs, say) share its rows. A page whose statement
   * fails fails its own requests only.
   */
  const readPage = createCoalescer<{ userId: string; after: string | null; limit: number }, SessionRow[]>((requests) =>
    byGroup(
      requests,
      (request) => `${request.userId}|${request.after ?? ''}|${request.limit}`,
      async (same) => {
        const { userId, after, limit } = same[0]!
        const rows = await (after ? nextPage({ userId, after, limit }) : firstPage({ userId, limit })).catch((error: unknown) => new ItemFailure(error))
        return same.map(() => rows)
      },
    ),
  )
  const rowsOfPage = (userId: string, params: PageParams): Promise<SessionRow[]> => {
    const request = { userId, after: params.after, limit: params.limit + 1 }
    if (db.dialect !== 'pg') return params.after ? nextPage(request) : firstPage(request)
    return readPage.add(request)
  }

  const ownedLive = (userId: string, id: string) => {
    if (!isId(id)) throw notFound('Session')
    return and(eq(sessions.id, id), eq(sessions.userId, userId), isNull(sessions.deletedAt))
  }

  return {
    async create(actor: Actor, input: CreateSessionInput, meta: RequestMeta): Promise<SessionRow> {
      const question = input.question.trim()
      if (!question) throw unprocessable('question_required', 'Write a question for the council.')
      if (question.includes('\u0000')) throw unprocessable('invalid_characters', 'The question contains a NUL character; remove it and try again.')
      if (question.length > questionMaxChars)
        throw unprocessable(
          'question_too_long',
          `The question has ${question.length} characters; the limit is ${questionMaxChars}. Shorten it or attach a document.`,
        )
      const now = new Date()
      const row: SessionRow = {
        id: newId(),
        userId: actor.userId,
        question,
        paletteId: input.palette_id ?? DEFAULT_PALETTE,
        status: 'created',
        stage: null,
        partial: false,
        tokensIn: 0,
        tokensOut: 0,
        costMicroUsd: 0,
        error: null,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      }
      await db.orm.transaction(async (tx) => {
        await tx.insert(sessions).values(row)
        await audit.record(
          {
            ...auditFields(actor, meta),
            action: 'session.create',
            target: `session:${row.id}`,
            sessionId: row.id,
            metadata: { palette_id: row.paletteId, question_chars: question.length },
          },
          tx,
        )
      })
      return row
    },

    async list(actor: Actor, params: PageParams): Promise<Page<SessionSummaryView>> {
      return toPage(await rowsOfPage(actor.userId, params), params, toSummary)
    },

    /** The caller's live session, or 404. Reads are audited in batches (they are the hot path). */
    async get(actor: Actor, id: string, meta: RequestMeta): Promise<SessionRow> {
      if (!isId(id)) throw notFound('Session')
      const row = await findLive(id, actor.userId)
      if (!row) throw notFound('Session')
      audit.recordLater({ ...auditFields(actor, meta), action: 'session.read', target: `session:${id}`, sessionId: id })
      return row
    },

    async softDelete(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      await db.orm.transaction(async (tx) => {
        const deleted = await tx
          .update(sessions)
          .set({ deletedAt: new Date(), updatedAt: new Date() })
          .where(ownedLive(actor.userId, id))
          .returning({ id: sessions.id })
        if (deleted.length === 0) throw notFound('Session')
        await audit.record({ ...auditFields(actor, meta), action: 'session.delete', target: `session:${id}`, sessionId: id }, tx)
      })
    },

    /** Erases a session and everything derived from it, whoever owns it (admins only; checked by the route). */
    async hardDelete(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      if (!isId(id)) throw notFound('Session')
      await db.orm.transaction(async (tx) => {
        const erased = await tx.delete(sessions).where(eq(sessions.id, id)).returning({ id: sessions.id, userId: sessions.userId })
        if (erased.length === 0) throw notFound('Session')
        const sessionJobs = await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.sessionId, id))
        for (const job of sessionJobs) await tx.delete(jobLogs).where(eq(jobLogs.jobId, job.id))
        await tx.delete(jobs).where(eq(jobs.sessionId, id))
        await audit.record(
          {
            ...auditFields(actor, meta),
            action: 'session.hard_delete',
            target: `session:${id}`,
            sessionId: id,
            metadata: { owner_id: erased[0]!.userId },
          },
          tx,
        )
      })
    },
  }
}

export type SessionsService = ReturnType<typeof createSessionsService>
