/**
 * Documents of a session: uploads (with the session, or added before it
 * runs), their extraction jobs, listing, download, the text of one page,
 * deletion, and erasure of their objects. Another user's document is "not
 * found", never "forbidden"; so is any document of a soft-deleted session.
 * Every upload is audited with metadata only (size, type, hash), never content.
 */
import { isId, newId } from '../../../db/client'
import type { DocumentRow, JobRow, SessionRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { JobQueue } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'
import type { RequestMeta } from '../../../plugins/rbac'
import { parseStorageKey, type ObjectStorage } from '../../../plugins/storage'
import type { Config } from '../../config'
import { quoteName } from '../../documents'
import { AppError, conflict, notFound, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import type { Stores, TxStores } from '../../stores'
import type { CreateSessionInput } from '../sessions/model'
import { checkQuestion, type SessionsService } from '../sessions/service'
import { readPage } from './pages'
import { discard, receiveFiles, uploadsDisabled, type ReceivedFile } from './uploads'

export interface DocumentsDeps {
  stores: Stores
  audit: AuditLog
  storage: ObjectStorage
  queue: JobQueue
  sessions: SessionsService
  config: Pick<Config, 'uploads' | 'features' | 'limits'>
  logger: Logger
}

const ACK_VALUES = new Set(['true', 'on', 'yes', '1'])
export const acknowledged = (value: string | undefined) => value !== undefined && ACK_VALUES.has(value.toLowerCase())

export const UPLOAD_ACKNOWLEDGEMENT = 'Uploaded documents may be processed and their content sent to the configured LLM provider'

/**
 * @example
 * const documents = createDocumentsService({ stores, audit, storage, queue, sessions, config, logger })
 * const { session, documents: rows } = await documents.createSession(actor, request, body, meta)
 */
export function createDocumentsService({ stores, audit, storage, queue, sessions, config, logger }: DocumentsDeps) {
  const limits = config.uploads

  /** Document rows and their extraction jobs (one job per document, in the same queue as councils). */
  const rowsFor = (actor: Actor, sessionId: string, files: readonly ReceivedFile[], meta: RequestMeta) => {
    const now = new Date()
    const documents: DocumentRow[] = []
    const jobs: JobRow[] = []
    for (const file of files) {
      const id = newId()
      const jobId = newId()
      documents.push({
        id,
        sessionId,
        userId: actor.userId,
        storageKey: file.key,
        filename: file.filename,
        mime: file.mime,
        kind: file.kind,
        bytes: file.bytes,
        sha256: file.sha256,
        status: 'pending',
        pages: null,
        pagesDone: 0,
        chars: null,
        error: null,
        jobId,
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      })
      jobs.push({
        id: jobId,
        kind: 'extract',
        userId: actor.userId,
        // Not the session's: a session's jobs are its council runs (its page and run checks read them).
        sessionId: null,
        status: 'queued',
        stage: null,
        progress: 0,
        requestId: meta.requestId,
        role: actor.role,
        idempotencyKey: null,
        input: { document_id: id },
        output: null,
        error: null,
        attempts: 0,
        cancelRequested: false,
        createdAt: now,
        startedAt: null,
        finishedAt: null,
        heartbeatAt: null,
      })
    }
    return { documents, jobs }
  }

  const insert = async (tx: TxStores, meta: RequestMeta, rows: ReturnType<typeof rowsFor>) => {
    await tx.documents.insert(rows.documents)
    for (const job of rows.jobs) await tx.jobs.insert(job)
    for (const doc of rows.documents)
      await audit.record(
        {
          ...meta.audit,
          action: 'document.upload',
          target: `document:${doc.id}`,
          sessionId: doc.sessionId,
          jobId: doc.jobId,
          metadata: { bytes: doc.bytes, mime: doc.mime, kind: doc.kind, sha256: doc.sha256, filename_chars: doc.filename.length },
        },
        tx,
      )
  }

  /** After the rows committed: each extraction job goes to the queue; one that cannot be queued fails its document visibly. */
  const enqueue = async (rows: ReturnType<typeof rowsFor>) => {
    for (const job of rows.jobs) {
      try {
        await queue.enqueue(job.id)
      } catch (error) {
        const reason = 'The document could not be queued for reading; delete it and upload it again.'
        logger.warn('extraction job could not be enqueued', { job_id: job.id, error: (error as Error).message })
        await stores.jobs.update(job.id, { status: 'failed', error: reason, finishedAt: new Date() })
        await stores.documents.finish(job.input!.document_id as string, { status: 'failed', error: reason }, new Date())
      }
    }
  }

  const refused = (meta: RequestMeta, sessionId: string | null, error: unknown) => {
    if (error instanceof AppError)
      audit.recordLater({
        ...meta.audit,
        action: 'document.upload_refused',
        target: sessionId ? `session:${sessionId}` : null,
        sessionId,
        metadata: { code: error.code, status: error.status },
      })
  }

  const ownedSession = async (actor: Actor, sessionId: string): Promise<SessionRow> => {
    const session = isId(sessionId) ? await stores.sessions.findLive(sessionId, actor.userId) : undefined
    if (!session) throw notFound('Session')
    return session
  }

  const notStarted = (session: SessionRow) => {
    if (session.status !== 'created')
      throw conflict(
        'session_started',
        `Documents can be added or removed only before the council runs; this session is ${session.status}. Create a new session to ask with other documents.`,
      )
  }

  const liveDocument = async (actor: Actor, id: string): Promise<DocumentRow> => {
    const row = isId(id) ? await stores.documents.findLive(id, actor.userId) : undefined
    if (!row) throw notFound('Document')
    return row
  }

  /** Deletes a document's original and every page of its text; returns how many objects went. */
  const eraseObjectsOf = async (doc: DocumentRow): Promise<number> => {
    const key = parseStorageKey(doc.storageKey)
    let count = 0
    for await (const object of storage.list(key)) {
      await storage.delete(object.key)
      count++
    }
    if (await storage.stat(key)) count++
    await storage.delete(key)
    return count
  }

  return {
    /**
     * A session created with files (multipart POST /api/v1/sessions, or the
     * form with files): the files are streamed to storage first, then the
     * session, its documents, their extraction jobs and the audit events
     * commit together; if anything fails, no object and no row remain.
     */
    async createSession(
      actor: Actor,
      request: Request,
      body: CreateSessionInput & Record<string, unknown>,
      meta: RequestMeta,
      {
        requireAcknowledgement = false,
        check,
        spendUpload,
      }: {
        requireAcknowledgement?: boolean
        check?: (input: CreateSessionInput) => void
        /** Spends from the `upload` rate limit (429 when it is used up); called before the first file is stored. */
        spendUpload?: () => Promise<void>
      } = {},
    ): Promise<{ session: SessionRow; documents: DocumentRow[] }> {
      let files: ReceivedFile[] = []
      try {
        // A bad question or palette is refused before any byte is stored (when the fields come first, as forms send them).
        if (body.question.trim()) checkQuestion(body.question, config.limits.questionMaxChars)
        check?.(body)
        const received = await receiveFiles(request, {
          storage,
          limits,
          used: { files: 0, bytes: 0 },
          disabled: config.features.disableUploads,
          signal: request.signal,
          beforeFirstFile: async (fields) => {
            if (requireAcknowledgement && !acknowledged(fields.acknowledge_uploads))
              throw unprocessable('upload_acknowledgement_required', `Tick “${UPLOAD_ACKNOWLEDGEMENT}” to send documents, or remove the files.`)
            await spendUpload?.()
          },
        })
        files = received.files
        const input = { ...body, ...received.fields } as CreateSessionInput & Record<string, string>
        check?.(input)
        const rows = { documents: [] as DocumentRow[], jobs: [] as JobRow[] }
        const session = await sessions.create(actor, input, meta, async (tx, row) => {
          Object.assign(rows, rowsFor(actor, row.id, files, meta))
          await insert(tx, meta, rows)
        })
        await enqueue(rows)
        return { session, documents: rows.documents }
      } catch (error) {
        await discard(storage, files)
        refused(meta, null, error)
        throw error
      }
    },

    /** POST /api/v1/sessions/:id/documents: more files for a session that has not run yet. */
    async addToSession(actor: Actor, sessionId: string, request: Request, meta: RequestMeta): Promise<DocumentRow[]> {
      let files: ReceivedFile[] = []
      try {
        if (config.features.disableUploads) throw uploadsDisabled()
        const session = await ownedSession(actor, sessionId)
        notStarted(session)
        const used = await stores.documents.usage(session.id)
        files = (await receiveFiles(request, { storage, limits, used, disabled: false, signal: request.signal })).files
        if (files.length === 0) throw unprocessable('no_files', 'Send at least one file in the multipart field "files".')
        const rows = rowsFor(actor, session.id, files, meta)
        await stores.transaction(async (tx) => {
          // The run may have started, or another upload filled the session, while the bytes streamed.
          const current = await tx.sessions.findLive(session.id, actor.userId)
          if (!current) throw notFound('Session')
          notStarted(current)
          const now = await tx.documents.usage(session.id)
          if (now.files + files.length > limits.maxFiles)
            throw new AppError(413, 'too_many_files', `This session would have ${now.files + files.length} files; the limit is ${limits.maxFiles} files per session.`)
          await insert(tx, meta, rows)
        })
        await enqueue(rows)
        return rows.documents
      } catch (error) {
        await discard(storage, files)
        refused(meta, isId(sessionId) ? sessionId : null, error)
        throw error
      }
    },

    /**
     * The live documents of the caller's live session, in upload order. A
     * document whose extraction job ended without reading it (cancelled before
     * it started, given up by the queue) is marked failed here, so no page
     * waits for it forever.
     */
    async list(actor: Actor, sessionId: string): Promise<DocumentRow[]> {
      await ownedSession(actor, sessionId)
      const rows = await stores.documents.forSession(sessionId)
      return Promise.all(
        rows.map(async (row) => {
          if (row.status !== 'pending' && row.status !== 'extracting') return row
          const job = row.jobId ? await stores.jobs.find(row.jobId) : undefined
          if (job && (job.status === 'queued' || job.status === 'running')) return row
          const error = `Reading ${quoteName(row.filename)} stopped before it finished${job?.status === 'cancelled' ? ' (it was cancelled)' : ''}; delete it and upload it again.`
          const at = new Date()
          return (await stores.documents.finish(row.id, { status: 'failed', error }, at)) ? { ...row, status: 'failed', error, updatedAt: at } : row
        }),
      )
    },

    /** The original bytes as a stream, for the owner only. */
    async content(actor: Actor, id: string, meta: RequestMeta) {
      const row = await liveDocument(actor, id)
      const object = await storage.get(parseStorageKey(row.storageKey))
      audit.recordLater({ ...meta.audit, action: 'document.download', target: `document:${row.id}`, sessionId: row.sessionId })
      return { row, object }
    },

    /** Deletes a document of a session that has not run: its row is marked deleted and its objects removed at once. */
    async remove(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      const row = await liveDocument(actor, id)
      await stores.transaction(async (tx) => {
        const session = await tx.sessions.findLive(row.sessionId, actor.userId)
        if (!session) throw notFound('Document')
        notStarted(session)
        if (!(await tx.documents.softDelete(row.id, new Date()))) throw notFound('Document')
        await audit.record({ ...meta.audit, action: 'document.delete', target: `document:${row.id}`, sessionId: row.sessionId }, tx)
      })
      await eraseObjectsOf(row)
    },

    /** The text of one page of an extracted document of the caller's live session; 404 for anything else. */
    async page(actor: Actor, sessionId: string, id: string, page: number): Promise<{ document: DocumentRow; text: string }> {
      const document = await liveDocument(actor, id)
      if (document.sessionId !== sessionId || document.status !== 'extracted' || !Number.isInteger(page) || page < 1 || page > (document.pages ?? 0))
        throw notFound('Page')
      return { document, text: await readPage(storage, document, page) }
    },

    /**
     * Every object of every document of a session (a hard delete), and a second
     * pass for after the rows are gone: an extraction that finished meanwhile may
     * have written pages (one that finishes later finds no row and removes its own).
     */
    async eraseObjects(sessionId: string): Promise<{ objects: number; afterwards(): Promise<number> }> {
      const rows = await stores.documents.allForSession(sessionId)
      let objects = 0
      for (const doc of rows) objects += await eraseObjectsOf(doc)
      return {
        objects,
        async afterwards() {
          let again = 0
          for (const doc of rows) again += await eraseObjectsOf(doc)
          return again
        },
      }
    },

    eraseObjectsOf,
  }
}

export type DocumentsService = ReturnType<typeof createDocumentsService>
