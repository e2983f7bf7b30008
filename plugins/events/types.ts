/**
 * The events plugin's contract: what happens to a job as it runs, as an
 * ordered log per job that any app instance can replay from a point and follow
 * live. The runner publishes (the in-process one in the server, a BullMQ worker
 * in its own process); the server's event stream (GET /api/v1/jobs/:id/events)
 * and the live session page read. Every backend passes
 * tests/unit/events-contract.test.ts.
 */

/** `stage` a council stage started; `member` an agent started, succeeded or failed a call; `progress` status and percent; `delta` text of a call as it is written; `done` the job ended. */
const JOB_EVENT_TYPES = ['stage', 'member', 'progress', 'delta', 'done'] as const
export type JobEventType = (typeof JOB_EVENT_TYPES)[number]

/** An event before it is stored: its type and JSON data (the publisher stamps `at`, the time of publication). */
export interface NewJobEvent {
  type: JobEventType
  data: Record<string, unknown>
}

/** A stored event: `id` is unique and increasing within its job, so a client resumes after the last one it saw. */
export interface JobEvent extends NewJobEvent {
  id: string
}

export interface JobEventLog {
  readonly backend: 'memory' | 'redis'
  /** Appends an event to the job's log, tells live subscribers, and returns its id. After `done` the log is kept for a while, then dropped. */
  publish(jobId: string, event: NewJobEvent): Promise<string>
  /** The job's stored events after `after` (from the start when null), oldest first; empty when none are kept. */
  history(jobId: string, after: string | null): Promise<JobEvent[]>
  /**
   * Calls `listener` with every event published for the job from now on, on
   * whichever instance it was published; resolves once listening, so nothing
   * published after it resolves is missed. The returned function stops it.
   */
  subscribe(jobId: string, listener: (event: JobEvent) => void): Promise<() => void>
  /**
   * Which of these jobs someone follows right now (a subscriber on any app
   * instance). The publisher asks it for jobs with text being written, so
   * `delta` events are written only while somebody can see them.
   */
  followed(jobIds: readonly string[]): Promise<Set<string>>
  /** Orders two ids of one job: negative when `a` came first. */
  compare(a: string, b: string): number
  /** Whether a client's Last-Event-ID has this backend's id shape. */
  isId(id: string): boolean
  /** For /readyz; throws when the log cannot be reached. */
  health(): Promise<Record<string, unknown>>
  close(): Promise<void>
}

/** How long logs are kept and how big they may grow; both backends take the same options. */
export interface EventLogLimits {
  /** Events kept per job (the oldest are dropped first). */
  maxEvents: number
  /** How long a finished job's log is kept after its `done`. */
  retainMs: number
  /** How long the log of a job that never finishes is kept after its last event. */
  idleMs: number
}
