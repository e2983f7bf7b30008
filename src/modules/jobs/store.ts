/**
 * How jobs and their log lines are kept. The contract suite is
 * tests/unit/stores/job-store.test.ts.
 */
import type { JobLogRow, JobRow } from '../../../db/schema'

export interface JobStore {
  insert(row: JobRow): Promise<void>
  /** The owner's job, or undefined. */
  findOwned(id: string, userId: string): Promise<JobRow | undefined>
  /** The job the user created with this Idempotency-Key, if any. */
  findByIdempotencyKey(userId: string, key: string): Promise<JobRow | undefined>
  /** The newest job of a session. */
  latestForSession(sessionId: string): Promise<JobRow | undefined>
  /** A queued or running job of the session, if any. */
  activeForSession(sessionId: string): Promise<{ id: string } | undefined>
  /** Writes fields of one job. */
  update(id: string, fields: Partial<JobRow>): Promise<void>
  /** A page of the job's log lines in order: `limit` lines with ids above `after`. */
  logs(jobId: string, after: string | null, limit: number): Promise<JobLogRow[]>
  /** Removes a session's jobs and their log lines (a hard delete of the session). */
  removeForSession(sessionId: string): Promise<number>
}
