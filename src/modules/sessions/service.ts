/**
 * Council sessions: create, list (owner's only, keyset-paginated), read,
 * soft or hard delete. Another user's session is "not found", never "forbidden".
 * Every write happens in a transaction together with its audit event.
 */
import { isId, newId } from '../../../db/client'
import type { SessionRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../identity'
import type { RequestMeta } from '../../../plugins/rbac'
import { notFound, unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import type { ObjectStorage } from '../../../plugins/storage'
import { closure, removeAll } from '../data/cascade'
import type { PaletteAccess } from '../palettes/service'
import type { CreateSessionInput, SessionStatus, SessionSummaryView } from './model'

export interface SessionsDeps {
  stores: Stores
  audit: AuditLog
  questionMaxChars: number
  /** Refuses a palette that does not exist (422) or is locked for the caller (403) before the session is created. */
  palettes: PaletteAccess
  /** Where a hard delete removes the session's objects (documents, extracted text) from. */
  storage: ObjectStorage
  /** Rows per delete statement of a hard delete. */
  batchSize: number
}

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

/**
 * @example
 * const sessions = createSessionsService({ stores, audit, questionMaxChars: 8000, palettes, storage, batchSize: 500 })
 * const row = await sessions.create(actor, { question: 'Why?' }, meta)
 */
export function createSessionsService({ stores, audit, questionMaxChars, palettes, storage, batchSize }: SessionsDeps) {
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
      const paletteId = input.palette_id ?? DEFAULT_PALETTE
      await palettes.requireRunnable(actor, paletteId)
      const now = new Date()
      const row: SessionRow = {
        id: newId(),
        userId: actor.userId,
        question,
        paletteId,
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
      await stores.transaction(async (tx) => {
        await tx.sessions.insert(row)
        await audit.record(
          {
            ...meta.audit,
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
      return toPage(await stores.sessions.page(actor.userId, params.after, params.limit + 1), params, toSummary)
    },

    /** The caller's live session, or 404. Reads are audited in batches (they are the hot path). */
    async get(actor: Actor, id: string, meta: RequestMeta): Promise<SessionRow> {
      if (!isId(id)) throw notFound('Session')
      const row = await stores.sessions.findLive(id, actor.userId)
      if (!row) throw notFound('Session')
      audit.recordLater({ ...meta.audit, action: 'session.read', target: `session:${id}`, sessionId: id })
      return row
    },

    async softDelete(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      if (!isId(id)) throw notFound('Session')
      await stores.transaction(async (tx) => {
        if (!(await tx.sessions.softDelete(id, actor.userId, new Date()))) throw notFound('Session')
        await audit.record({ ...meta.audit, action: 'session.delete', target: `session:${id}`, sessionId: id }, tx)
      })
    },

    /**
     * Erases a session and everything derived from it, whoever owns it (admins only; checked by the route):
     * first what belongs to it in any table (jobs, their logs, stage outputs, budget reservations,
     * documents) and the storage objects those name, through the data walk; then the row and its event.
     */
    async hardDelete(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      if (!isId(id)) throw notFound('Session')
      if ((await stores.data.ids('sessions', 'id', [id])).length === 0) throw notFound('Session')
      await removeAll({ data: stores.data, storage, batchSize }, await closure(stores.data, { sessions: [id] }), new Set(['sessions']))
      await stores.transaction(async (tx) => {
        const erased = await tx.sessions.remove(id)
        if (!erased) throw notFound('Session')
        await tx.jobs.removeForSession(id)
        await audit.record(
          {
            ...meta.audit,
            action: 'session.hard_delete',
            target: `session:${id}`,
            sessionId: id,
            metadata: { owner_id: erased.userId },
          },
          tx,
        )
      })
    },
  }
}

export type SessionsService = ReturnType<typeof createSessionsService>
