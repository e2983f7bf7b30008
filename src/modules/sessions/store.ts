/**
 * How sessions are kept. Reads are the owner's live (not soft-deleted) rows;
 * the contract suite is tests/unit/stores/session-store.test.ts.
 */
import type { DocumentRow, SessionRow } from '../../../db/schema'

/** A council's outcome, written on its session when its job succeeds. */
export interface SessionTotals {
  partial: boolean
  tokensIn: number
  tokensOut: number
  costMicroUsd: number
  error: string | null
  at: Date
}

/** What the session list filters on: words in the question (matched literally, any case: db/like.ts) and a status. */
export interface SessionFilter {
  q?: string
  status?: string
}

/** A page of sessions as the session list shows it: the rows, and the live documents of those sessions in upload order. */
export interface SessionPage {
  rows: SessionRow[]
  documents: DocumentRow[]
}

/** Rows per multi-row insert: 1,000 × 14 columns stays far below libsql's 32,766 and PostgreSQL's 65,535 parameters. */
export const ROWS_PER_INSERT = 1000

export interface SessionStore {
  insert(row: SessionRow): Promise<void>
  /** Inserts any number of rows, ROWS_PER_INSERT to a statement (seeding, benchmarks). */
  insertMany(rows: readonly SessionRow[]): Promise<void>
  /** The owner's live session, or undefined (missing, another owner's, or soft-deleted). */
  findLive(id: string, userId: string): Promise<SessionRow | undefined>
  /**
   * The owner's live sessions, newest first: `limit` rows with ids below `after` (all from the newest when null),
   * with those sessions' live documents (what the list shows, read together).
   */
  page(userId: string, after: string | null, limit: number): Promise<SessionPage>
  /** Like `page`, with only the sessions whose question contains `filter.q` (case-insensitive) and whose status is `filter.status`. */
  search(userId: string, filter: SessionFilter, after: string | null, limit: number): Promise<SessionRow[]>
  /** The owner's live sessions among `ids`, in no particular order. */
  manyLive(userId: string, ids: readonly string[]): Promise<SessionRow[]>
  /** The owner's session whether deleted or not, or undefined. */
  findOwned(id: string, userId: string): Promise<SessionRow | undefined>
  /** Writes status fields of one session (updated_at is set to now). */
  update(id: string, fields: Partial<Pick<SessionRow, 'status' | 'stage' | 'error'>>): Promise<void>
  /** update() of many sessions with the same fields, in one statement (a burst of runs being queued). */
  updateMany(ids: readonly string[], fields: Partial<Pick<SessionRow, 'status' | 'stage' | 'error'>>): Promise<void>
  /** A live session whoever owns it (the council reads it to run it), or undefined. */
  liveById(id: string): Promise<SessionRow | undefined>
  /** Marks the session running at `stage` (the council started the stage). */
  setRunning(id: string, stage: string): Promise<void>
  /** Marks the session succeeded at the synthesis with its council's totals; updated_at is `totals.at`. */
  succeed(id: string, totals: SessionTotals): Promise<void>
  /** Marks the owner's live session deleted; false when there was none. */
  softDelete(id: string, userId: string, at: Date): Promise<boolean>
  /** Removes the session row whoever owns it; returns its owner, or undefined when there was none. */
  remove(id: string): Promise<{ userId: string } | undefined>
}
