/**
 * How jobs and their log lines are kept. The contract suite is
 * tests/unit/job-store.contract.ts.
 */
export interface JobStore {
  /** Removes a session's jobs and their log lines (a hard delete of the session). */
  removeForSession(sessionId: string): Promise<number>
}
