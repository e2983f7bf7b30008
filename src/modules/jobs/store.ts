/**
 * How jobs and their log lines are kept. The contract suite is
 * tests/unit/stores/job-store.test.ts.
 */
import type { JobLogRow, JobRow } from '../../../db/schema'

/**
 * A job leaving "running" (or "queued"). Only a queued or running job moves:
 * a finished one (succeeded, failed, cancelled) never changes again.
 * - succeeded: progress 100, finished at `at`, the output stored, error cleared;
 *   `stage` replaces the stage when given.
 * - failed: finished at `at` with the error (and the output when given: what kind of failure).
 * - cancelled: finished at `at`, error cleared.
 * - queued: back in the queue (a retry, or a runner that stopped), with the reason as error.
 */
export type JobTransition =
  | { to: 'succeeded'; at: Date; output: Record<string, unknown>; stage?: string }
  | { to: 'failed'; at: Date; error: string; output?: Record<string, unknown> }
  | { to: 'cancelled'; at: Date }
  | { to: 'queued'; error: string }

/** A job as the admin list shows it: what it is and where it stands, never its input or output. */
export type AdminJobRow = Pick<
  JobRow,
  'id' | 'kind' | 'userId' | 'sessionId' | 'status' | 'stage' | 'progress' | 'requestId' | 'role' | 'attempts' | 'cancelRequested' | 'error' | 'createdAt' | 'startedAt' | 'finishedAt' | 'heartbeatAt'
> & { email: string | null }

/** Rows per multi-row insert: 1,000 × 19 columns stays far below libsql's 32,766 and PostgreSQL's 65,535 parameters. */
export const ROWS_PER_INSERT = 1000

export interface JobStore {
  insert(row: JobRow): Promise<void>
  /** Inserts any number of rows, ROWS_PER_INSERT to a statement (seeding, benchmarks). */
  insertMany(rows: readonly JobRow[]): Promise<void>
  /** The job, whoever owns it, or undefined. */
  find(id: string): Promise<JobRow | undefined>
  /** The user's jobs, newest first: `limit` with ids below `after` (from the newest when null). */
  page(userId: string, after: string | null, limit: number): Promise<JobRow[]>
  /**
   * Everyone's jobs for the admin list, newest first: `limit` with ids below
   * `after`, in the given statuses (all when empty); metadata only — no input
   * or output — with the owner's email.
   */
  everyone(statuses: readonly string[], after: string | null, limit: number): Promise<AdminJobRow[]>
  /** How many jobs there are in each status; a status no job is in is left out. */
  statusCounts(): Promise<Record<string, number>>
  /** The owner's job, or undefined. */
  findOwned(id: string, userId: string): Promise<JobRow | undefined>
  /** The job the user created with this Idempotency-Key, if any. */
  findByIdempotencyKey(userId: string, key: string): Promise<JobRow | undefined>
  /** The newest job of a session. */
  latestForSession(sessionId: string): Promise<JobRow | undefined>
  /** A queued or running job of the session, if any. */
  activeForSession(sessionId: string): Promise<{ id: string } | undefined>
  /** Ids of every queued or running job (to hand back to a runner that restarted). */
  unfinished(): Promise<string[]>
  /** Writes fields of one job. */
  update(id: string, fields: Partial<JobRow>): Promise<void>
  /**
   * Marks a queued or running job running for this attempt, unless its cancel
   * was requested: attempts = `attempt`, heartbeat now, error cleared, and
   * started_at now when `firstStart`. False when the job was not claimed.
   */
  claim(id: string, attempt: number, firstStart: boolean): Promise<boolean>
  /** Writes a running job's progress (0–100), and its stage when given. */
  progress(id: string, fields: { stage?: string; progress: number }): Promise<void>
  /** Moves a queued or running job on (see JobTransition); false when it had already finished. */
  transition(id: string, change: JobTransition): Promise<boolean>
  /** Stamps the heartbeat of the given jobs; returns those of them whose cancel was requested. */
  heartbeat(ids: readonly string[], at: Date): Promise<string[]>
  /** A page of the job's log lines in order: `limit` lines with ids above `after`. */
  logs(jobId: string, after: string | null, limit: number): Promise<JobLogRow[]>
  /** Appends log lines, any number at once; a batch that fails loses its own lines only. */
  appendLogs(lines: readonly JobLogRow[]): Promise<void>
  /** Removes a session's jobs and their log lines (a hard delete of the session). */
  removeForSession(sessionId: string): Promise<number>
  /** Removes the given jobs and their log lines (a document's extraction jobs, which belong to no session); says how many went. */
  removeByIds(ids: readonly string[]): Promise<number>
}

/** The columns a transition writes, the same on every dialect. */
export function transitionFields(change: JobTransition): Partial<JobRow> {
  switch (change.to) {
    case 'succeeded':
      return { status: 'succeeded', progress: 100, finishedAt: change.at, output: change.output, error: null, ...(change.stage ? { stage: change.stage } : {}) }
    case 'failed':
      return { status: 'failed', finishedAt: change.at, error: change.error, ...(change.output ? { output: change.output } : {}) }
    case 'cancelled':
      return { status: 'cancelled', finishedAt: change.at, error: null }
    case 'queued':
      return { status: 'queued', error: change.error }
  }
}

/** Statuses a job can still leave. */
export const UNFINISHED = ['queued', 'running'] as const

/** Log lines per insert: bounded statements, and far below libsql's 32,766 bound parameters (8 a line). */
const LOG_LINES_PER_INSERT = 1000

/** Writes `lines` in chunks; a chunk that fails loses its own lines only, and the error after all were tried says how many. */
export async function inChunks(lines: readonly JobLogRow[], insert: (chunk: JobLogRow[]) => Promise<unknown>): Promise<void> {
  let lost = 0
  let first: unknown
  for (let i = 0; i < lines.length; i += LOG_LINES_PER_INSERT) {
    const chunk = lines.slice(i, i + LOG_LINES_PER_INSERT)
    await insert(chunk).catch((error: unknown) => {
      lost += chunk.length
      first ??= error
    })
  }
  if (lost > 0) throw new Error(`${lost} of ${lines.length} log lines were not stored: ${(first as Error)?.message ?? String(first)}`)
}
