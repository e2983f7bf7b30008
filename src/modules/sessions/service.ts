/**
 * Council sessions: create, list (owner's only, keyset-paginated), read,
 * soft or hard delete. Another user's session is "not found", never "forbidden".
 * Every write happens in a transaction together with its audit event.
 */
import { isId, newId } from '../../../db/client'
import { createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { DocumentRow, SessionRow } from '../../../db/schema'
import type { AuditEvent, AuditLog } from '../../../plugins/audit'
import { WebSearchError, type WebSearch } from '../../../plugins/search'
import type { Actor } from '../../identity'
import type { RequestMeta } from '../../../plugins/rbac'
import { notFound, unprocessable } from '../../errors'
import { deepFreeze } from '../../freeze'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores, TxStores } from '../../stores'
import type { SessionFilter, SessionPage } from './store'
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
  /**
   * Deletes the stored objects of a session's documents (bytes and extracted
   * text) before a hard delete erases its rows, and again once they are gone
   * (`afterwards`: pages an extraction was writing meanwhile); counts the objects.
   */
  eraseObjects?: (sessionId: string) => Promise<{ objects: number; afterwards(): Promise<number> }>
  /** Decides whether `web_search: true` is accepted (the search plugin; DISABLE_WEB_SEARCH makes it refuse). */
  webSearch?: Pick<WebSearch, 'enabled' | 'provider'>
  /** Where a hard delete removes the session's objects (documents, extracted text) from. */
  storage: ObjectStorage
  /** Rows per delete statement of a hard delete. */
  batchSize: number
}

/** `web_search` as JSON (true) or a form ("true", "on") sends it. */
export const wantsWebSearch = (value: CreateSessionInput['web_search']) => value === true || value === 'true' || value === 'on'

/** Why `web_search: true` is refused here: 403 web_search_disabled under the kill switch, else not configured. */
function webSearchRefusal(search: Pick<WebSearch, 'provider'> | undefined): WebSearchError {
  return search?.provider === 'disabled'
    ? new WebSearchError('web_search_disabled', 'Web search is disabled on this server (DISABLE_WEB_SEARCH=true); ask without it.')
    : new WebSearchError('web_search_not_configured', 'Web search is not configured on this server (WEB_SEARCH_PROVIDER=none); ask without it.')
}

export const DEFAULT_PALETTE = 'default'

/** The question as the council will get it, or a 422 naming the problem (also checked before an upload is stored). */
export function checkQuestion(raw: string, questionMaxChars: number): string {
  const question = raw.trim()
  if (!question) throw unprocessable('question_required', 'Write a question for the council.')
  if (question.includes('\u0000')) throw unprocessable('invalid_characters', 'The question contains a NUL character; remove it and try again.')
  if (question.length > questionMaxChars)
    throw unprocessable(
      'question_too_long',
      `The question has ${question.length} characters; the limit is ${questionMaxChars}. Shorten it or attach a document.`,
    )
  return question
}

/** A document as sessions show it: metadata only (SPEC §4). */
function toDocumentSummary(row: DocumentRow): SessionSummaryView['documents'][number] {
  return {
    id: row.id,
    filename: row.filename,
    content_type: row.mime,
    bytes: row.bytes,
    status: row.status as SessionSummaryView['documents'][number]['status'],
    pages: row.pages,
    error: row.error,
  }
}

export function toSummary(row: SessionRow, documents: readonly DocumentRow[] = []): SessionSummaryView {
  return {
    id: row.id,
    question: row.question,
    palette_id: row.paletteId,
    status: row.status as SessionStatus,
    stage: row.stage,
    partial: row.partial,
    tokens: { input: row.tokensIn, output: row.tokensOut, total: row.tokensIn + row.tokensOut },
    cost_usd: row.costMicroUsd / 1_000_000,
    documents: documents.map(toDocumentSummary),
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
export function createSessionsService({ stores, audit, questionMaxChars, palettes, eraseObjects, webSearch, storage, batchSize }: SessionsDeps) {
  /**
   * The list answers of pages the store keeps (frozen, shared while current),
   * by page: the page was read for one limit (limit + 1 rows), so its answer is
   * always the same. Weak, so an answer goes when its page is dropped.
   */
  const listed = new WeakMap<SessionPage, Page<SessionSummaryView>>()
  /** The summary maker of a page of sessions, given their documents. */
  const summariesWith = (docs: readonly DocumentRow[]) => {
    const documents = new Map<string, DocumentRow[]>()
    for (const doc of docs) {
      const list = documents.get(doc.sessionId)
      if (list) list.push(doc)
      else documents.set(doc.sessionId, [doc])
    }
    return (row: SessionRow) => toSummary(row, documents.get(row.id))
  }
  /** One session and its audit event, in a transaction of their own (with what `within` adds). */
  const writeSession = (row: SessionRow, event: AuditEvent, within?: (tx: TxStores, row: SessionRow) => Promise<void>) =>
    stores.transaction(async (tx) => {
      await tx.sessions.insert(row)
      await audit.record(event, tx)
      await within?.(tx, row)
    })
  /**
   * Sessions created together share statements (db/coalesce.ts): one
   * transaction inserts their rows and their audit events. If it fails, none
   * of it stays and each is written again on its own, exactly as alone.
   */
  const intake = createCoalescer<{ row: SessionRow; event: AuditEvent }, true>(
    async (items) => {
      const alone = () => Promise.all(items.map(({ row, event }) => writeSession(row, event).then(() => true as const, (error: unknown) => new ItemFailure(error))))
      if (items.length === 1) return alone()
      try {
        await stores.transaction(async (tx) => {
          await tx.sessions.insertMany(items.map((item) => item.row))
          await audit.recordAll(items.map((item) => item.event), tx)
        })
        return items.map(() => true as const)
      } catch {
        return alone()
      }
    },
    { maxBatch: 250, maxInFlight: 2 },
  )
  return {
    /** `within` runs in the session's transaction (uploads add their document rows and extraction jobs there). */
    async create(
      actor: Actor,
      input: CreateSessionInput,
      meta: RequestMeta,
      within?: (tx: TxStores, row: SessionRow) => Promise<void>,
    ): Promise<SessionRow> {
      const question = checkQuestion(input.question, questionMaxChars)
      const paletteId = input.palette_id ?? DEFAULT_PALETTE
      await palettes.requireRunnable(actor, paletteId)
      const searchWeb = wantsWebSearch(input.web_search)
      if (searchWeb && !webSearch?.enabled) throw webSearchRefusal(webSearch)
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
        webSearch: searchWeb,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      }
      const event: AuditEvent = {
        ...meta.audit,
        action: 'session.create',
        target: `session:${row.id}`,
        sessionId: row.id,
        metadata: { palette_id: row.paletteId, question_chars: question.length, ...(searchWeb && { web_search: true }) },
      }
      // Uploads add their rows to the session's own transaction; a plain session joins others created at the same moment.
      await (within ? writeSession(row, event, within) : intake.add({ row, event }))
      return row
    },

    async list(actor: Actor, params: PageParams): Promise<Page<SessionSummaryView>> {
      const page = await stores.sessions.page(actor.userId, params.after, params.limit + 1)
      // A page the store keeps (PostgreSQL's list cache) comes back as the same object while it is current: its summaries are made once.
      const made = listed.get(page)
      if (made) return made
      const result = toPage(page.rows, params, summariesWith(page.documents))
      // Shared by every request that lists this page while it is current: frozen, so a caller that would change it throws instead.
      if (Object.isFrozen(page)) listed.set(page, deepFreeze(result))
      return result
    },

    /** The summary of a session read with get(): its documents' metadata added. */
    async summary(row: SessionRow): Promise<SessionSummaryView> {
      return toSummary(row, await stores.documents.forSession(row.id))
    },

    /** The caller's live session, or 404. Reads are audited in batches (they are the hot path). */
    async get(actor: Actor, id: string, meta: RequestMeta): Promise<SessionRow> {
      const row = await this.find(actor, id)
      audit.recordLater({ ...meta.audit, action: 'session.read', target: `session:${id}`, sessionId: id })
      return row
    },

    /**
     * The caller's live session, or 404, without an audit event: for what an open
     * page fetches on its own (progress, its event stream, fragments), which is
     * part of the one viewing its page load recorded (SPEC §5).
     */
    async find(actor: Actor, id: string): Promise<SessionRow> {
      if (!isId(id)) throw notFound('Session')
      const row = await stores.sessions.findLive(id, actor.userId)
      if (!row) throw notFound('Session')
      return row
    },

    /** The caller's sessions matching a search in the question and a status, newest first. */
    async search(actor: Actor, filter: SessionFilter, params: PageParams): Promise<Page<SessionSummaryView>> {
      const rows = await stores.sessions.search(actor.userId, filter, params.after, params.limit + 1)
      return toPage(rows, params, summariesWith(await stores.documents.forSessions(rows.map((row) => row.id))))
    },

    /** The caller's live sessions among `ids` (the list page's status refresh: no documents); others' and unknown ids are left out. */
    async many(actor: Actor, ids: readonly string[]): Promise<SessionSummaryView[]> {
      const valid = ids.filter(isId)
      return valid.length === 0 ? [] : (await stores.sessions.manyLive(actor.userId, valid)).map((row) => toSummary(row))
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
      // Objects first: if the rows then fail to go, a retry finds the documents again; the other way round would orphan bytes.
      const erased = await eraseObjects?.(id)
      if ((await stores.data.ids('sessions', 'id', [id])).length === 0) throw notFound('Session')
      // Every row that belongs to the session (src/modules/data: found from the schema, so new tables are covered), and their objects.
      const cascade = await removeAll({ data: stores.data, storage, batchSize }, await closure(stores.data, { sessions: [id] }), new Set(['sessions']))
      await stores.transaction(async (tx) => {
        const removed = await tx.sessions.remove(id)
        if (!removed) throw notFound('Session')
        // What appeared since the walk (an extraction finishing, say) goes with the session row.
        await tx.jobs.removeForSession(id)
        // Drafts, reviews, synthesis, citations and web results: derived from the session, so erased with it.
        await tx.stageOutputs.removeForRun(id)
        const documents = await tx.documents.removeForSession(id)
        await tx.jobs.removeByIds(documents.flatMap((doc) => (doc.jobId ? [doc.jobId] : [])))
        await audit.record(
          {
            ...meta.audit,
            action: 'session.hard_delete',
            target: `session:${id}`,
            sessionId: id,
            metadata: { owner_id: removed.userId, documents: documents.length + (cascade.tables.documents ?? 0) },
          },
          tx,
        )
      })
      await erased?.afterwards()
    },
  }
}

export type SessionsService = ReturnType<typeof createSessionsService>
