/**
 * How document metadata is kept (the bytes and the extracted text are in
 * object storage). Reads for people are the owner's live documents of a live
 * session; the worker reads by id. The contract suite is
 * tests/unit/stores/document-store.test.ts.
 */
import type { DocumentRow } from '../../../db/schema'

export const DOCUMENT_STATUSES = ['pending', 'extracting', 'extracted', 'failed'] as const
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number]

/** How a read ended: its text is stored, or it failed with a reason the uploader understands. */
export type ExtractionOutcome = { status: 'extracted'; pages: number; chars: number } | { status: 'failed'; error: string }

export interface DocumentStore {
  insert(rows: readonly DocumentRow[]): Promise<void>
  /** The document, deleted or not, whoever owns it. */
  find(id: string): Promise<DocumentRow | undefined>
  /** The owner's live document whose session is live too, or undefined. */
  findLive(id: string, userId: string): Promise<DocumentRow | undefined>
  /** The session's live documents, in upload order. */
  forSession(sessionId: string): Promise<DocumentRow[]>
  /** The live documents of several sessions (summaries of a page of sessions), in upload order. */
  forSessions(sessionIds: readonly string[]): Promise<DocumentRow[]>
  /** Every document of the session, soft-deleted ones too (erasure finds their objects by them). */
  allForSession(sessionId: string): Promise<DocumentRow[]>
  /** Files and bytes of the session's live documents (the per-session limits). */
  usage(sessionId: string): Promise<{ files: number; bytes: number }>
  /** A live pending or extracting document becomes extracting (a retried job restarts it); false otherwise. */
  startExtracting(id: string, at: Date): Promise<boolean>
  /** Pages read so far, and the total once known. */
  progress(id: string, pagesDone: number, pages: number): Promise<void>
  /** A live document still being read gets its outcome; false when it was deleted (or had finished) meanwhile. */
  finish(id: string, outcome: ExtractionOutcome, at: Date): Promise<boolean>
  /** Marks a live document deleted; false when there was none. */
  softDelete(id: string, at: Date): Promise<boolean>
  /** Removes every row of the session (a hard delete); returns the rows removed. */
  removeForSession(sessionId: string): Promise<DocumentRow[]>
}

/** The columns an outcome writes, the same on every dialect. */
export function outcomeFields(outcome: ExtractionOutcome, at: Date): Partial<DocumentRow> {
  return outcome.status === 'extracted'
    ? { status: 'extracted', pages: outcome.pages, pagesDone: outcome.pages, chars: outcome.chars, error: null, updatedAt: at }
    : { status: 'failed', error: outcome.error, updatedAt: at }
}
