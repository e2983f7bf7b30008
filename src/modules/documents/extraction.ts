/**
 * The `extract` job: reads one uploaded document in the worker (never in the
 * request), with the library's guards (zip bomb, page cap, time cap), and
 * stores its text one object per page beside the original. Progress goes to
 * the job (percent), the document row (pages done) and the job log
 * ("page N of M"). A document that cannot be read ends `failed` with the
 * library's sentence for the uploader; a deleted one is left alone.
 */
import type { JobRow } from '../../../db/schema'
import { JobCancelled, PermanentJobError } from '../../../plugins/jobs'
import { parseStorageKey, type ObjectStorage } from '../../../plugins/storage'
import type { UploadConfig } from '../../config/uploads'
import { DocumentError, extract, quoteName, type DocumentKind, type ExtractProgress } from '../../documents'
import type { DocumentStore } from './store'
import { mapWithConcurrency } from '../../council/engine'
import { pageKey } from './pages'

export interface ExtractionContext {
  signal: AbortSignal
  attempt: number
  maxAttempts: number
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void }
  /** The job's progress, 0–100. */
  progress(percent: number): Promise<void>
}

export interface ExtractionDeps {
  documents: DocumentStore
  storage: ObjectStorage
  limits: Pick<UploadConfig, 'extractTimeoutMs' | 'extractMaxPages'>
  /** How often progress is written at most (default 500 ms); the last page is always written. */
  progressEveryMs?: number
}

/** Page texts stored at once. */
const PAGE_WRITES = 8

/**
 * @example
 * const extractDocument = createExtractionRunner({ documents: stores.documents, storage, limits: config.uploads })
 * const output = await extractDocument(job, { signal, attempt, maxAttempts, log, progress })
 */
export function createExtractionRunner({ documents, storage, limits, progressEveryMs = 500 }: ExtractionDeps) {
  return async function extractDocument(job: JobRow, ctx: ExtractionContext): Promise<Record<string, unknown>> {
    const documentId = String(job.input?.document_id ?? '')
    const doc = await documents.find(documentId)
    if (!doc || doc.deletedAt || !(await documents.startExtracting(doc.id, new Date()))) {
      ctx.log.info('nothing to read: the document was deleted or has been read already', { document_id: documentId })
      return { document_id: documentId, skipped: true }
    }
    const key = parseStorageKey(doc.storageKey)
    ctx.log.info(`reading a ${doc.kind.toUpperCase()} of ${doc.bytes} bytes`, { document_id: doc.id, kind: doc.kind, bytes: doc.bytes })

    let lastWrite = 0
    let writing: Promise<unknown> = Promise.resolve()
    const onProgress = ({ pagesDone, pagesTotal }: ExtractProgress) => {
      const last = pagesDone === pagesTotal
      if (!last && Date.now() - lastWrite < progressEveryMs) return
      lastWrite = Date.now()
      ctx.log.info(`page ${pagesDone} of ${pagesTotal}`, { document_id: doc.id, pages_done: pagesDone, pages: pagesTotal })
      // Reading is 90 % of the job, storing the pages the rest.
      writing = Promise.all([documents.progress(doc.id, pagesDone, pagesTotal), ctx.progress(Math.floor((90 * pagesDone) / Math.max(1, pagesTotal)))]).catch(() => undefined)
    }

    let result
    try {
      const object = await storage.get(key)
      result = await extract(object.body, doc.kind as DocumentKind, {
        filename: doc.filename,
        limits: { timeoutMs: limits.extractTimeoutMs, maxPages: limits.extractMaxPages },
        signal: ctx.signal,
        onProgress,
      })
    } catch (error) {
      await writing
      if (ctx.signal.aborted) {
        // Cancelled by the user: the document says so. A runner shutting down leaves it to the next attempt.
        if (ctx.signal.reason instanceof JobCancelled)
          await documents.finish(doc.id, { status: 'failed', error: `Reading ${quoteName(doc.filename)} was cancelled.` }, new Date())
        throw error
      }
      const retryable = !(error instanceof DocumentError) || error.retryable
      const message = error instanceof Error ? error.message : String(error)
      if (!retryable || ctx.attempt >= ctx.maxAttempts) {
        const reason = error instanceof DocumentError ? message : `${quoteName(doc.filename)} could not be read (${message}).`
        await documents.finish(doc.id, { status: 'failed', error: reason }, new Date())
        ctx.log.warn('the document could not be read', { document_id: doc.id, code: (error as DocumentError).code ?? null })
        throw new PermanentJobError(reason)
      }
      throw error
    }
    await writing

    await mapWithConcurrency(result.pages, PAGE_WRITES, (page) =>
      storage.put(pageKey(key, page.page), page.text, { contentType: 'text/plain; charset=utf-8', signal: ctx.signal }),
    )
    if (!(await documents.finish(doc.id, { status: 'extracted', pages: result.pages.length, chars: result.chars }, new Date()))) {
      // Deleted while it was being read: its text goes too.
      await mapWithConcurrency(result.pages, PAGE_WRITES, (page) => storage.delete(pageKey(key, page.page)))
      return { document_id: doc.id, skipped: true }
    }
    await ctx.progress(100).catch(() => undefined)
    ctx.log.info('document read', { document_id: doc.id, pages: result.pages.length, chars: result.chars })
    return { document_id: doc.id, pages: result.pages.length, chars: result.chars }
  }
}

type ExtractDocument = ReturnType<typeof createExtractionRunner>
