/**
 * The jobs plugin's contract. The server only enqueues job ids (job data lives
 * in the jobs table, so no secret or document ever sits in Redis); a runner —
 * in-process, or a BullMQ worker in another process — hands each id to the
 * processor, retrying with exponential backoff until attempts run out.
 */
export interface ProcessContext {
  /** 1 for the first try. */
  attempt: number
  maxAttempts: number
  /** Aborted when the job is cancelled or the runner shuts down. */
  signal: AbortSignal
}

/** Runs one job. Throw to retry; throw PermanentJobError to fail at once. */
export type JobProcessor = (jobId: string, ctx: ProcessContext) => Promise<void>

export class PermanentJobError extends Error {
  override name = 'PermanentJobError'
}

/** The abort reason a runner gives when a job is cancelled (as opposed to the runner shutting down). */
export class JobCancelled extends Error {
  override name = 'JobCancelled'
  constructor() {
    super('the job was cancelled')
  }
}

/**
 * Housekeeping the runner repeats (retention). The in-process runner runs it
 * on a timer, never two at once; with BullMQ it is a repeatable job of the same
 * queue, so one worker of all runs it per period (the task still guards itself
 * with a lease, for a period that outlasts its interval).
 */
export interface ScheduledTask {
  /** Also the BullMQ job name and scheduler id; never `run` (that is a council job). */
  name: string
  everyMs: number
  /** Aborted when the runner shuts down. */
  run(signal: AbortSignal): Promise<unknown>
}

export interface JobQueue {
  readonly backend: 'inline' | 'bullmq'
  enqueue(jobId: string): Promise<void>
  /** Repeats a task every `everyMs` (see ScheduledTask); replaces an earlier schedule of the same name. */
  schedule(task: ScheduledTask): Promise<void>
  /** Stops repeating the task of that name (with BullMQ, for every worker: the schedule lives in Redis). */
  unschedule(name: string): Promise<void>
  /** Drops a job that has not started; a running one is stopped by the processor's cancel check. */
  cancel(jobId: string): Promise<void>
  /** Backlog and worker liveness, for /readyz. Throws when the queue cannot be reached. */
  health(): Promise<QueueHealth>
  close(): Promise<void>
}

/** What JobQueue.health reports: counts by state, live workers, and the two ages /readyz and the staleness alerts watch. */
export interface QueueHealth {
  backend: 'inline' | 'bullmq'
  waiting: number
  active: number
  delayed?: number
  failed?: number
  /** Workers with a heartbeat in the last HEARTBEAT_STALE_MS (BullMQ only). */
  workers?: number
  /** When any worker last beat (epoch ms); null when none ever has (BullMQ only). */
  last_heartbeat_at?: number | null
  /** When the oldest job still waiting for a runner was enqueued (epoch ms); null when none waits. */
  oldest_waiting_at: number | null
  [detail: string]: unknown
}

/** The Redis sorted set where a queue's workers heartbeat (member: worker id, score: last beat). */
export const heartbeatsKey = (queueName: string) => `${queueName}:workers`
/** When any worker of the queue last beat; kept when the worker stops, so its age keeps growing. */
export const lastHeartbeatKey = (queueName: string) => `${queueName}:workers:last`
export const HEARTBEAT_EVERY_MS = 5_000
export const HEARTBEAT_STALE_MS = 15_000
