/**
 * BullMQ on Redis. The server side only enqueues (createBullQueue); the worker
 * process (workers/council.ts) consumes (startBullWorker). Job data is just
 * our job id. A worker that dies holding a job loses its lock, BullMQ's
 * stalled-job check hands the job to another worker, and the council resumes
 * from its stored stages. Workers heartbeat into a Redis sorted set that
 * /readyz reads.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import IORedis from 'ioredis'
import type { JobProcessor, JobQueue, ScheduledTask } from './types'
import { HEARTBEAT_EVERY_MS, HEARTBEAT_STALE_MS, heartbeatsKey, lastHeartbeatKey, PermanentJobError, type QueueHealth } from './types'

interface JobData {
  jobId: string
}

const ENQUEUE_TIMEOUT_MS = 3000

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

function waitReady(connection: IORedis, ms: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve()
  return withTimeout(
    new Promise<void>((resolve) => connection.once('ready', () => resolve())),
    ms,
    `Redis is not reachable (connection ${connection.status})`,
  )
}

/** Workers need maxRetriesPerRequest: null (BullMQ's blocking commands must not time out). */
const redisConnection = (url: string, forWorker: boolean) =>
  new IORedis(url, { maxRetriesPerRequest: forWorker ? null : 1, enableOfflineQueue: forWorker, lazyConnect: false })

export interface BullQueueOptions {
  redisUrl: string
  queueName: string
  attempts: number
  backoffMs?: number
}

/**
 * @example
 * const queue = createBullQueue({ redisUrl: 'redis://127.0.0.1:6379', queueName: 'council-jobs', attempts: 3 })
 * await queue.enqueue(jobId)
 */
export function createBullQueue({ redisUrl, queueName, attempts, backoffMs = 1000 }: BullQueueOptions): JobQueue {
  const connection = redisConnection(redisUrl, false)
  connection.on('error', () => undefined) // surfaced by health(); ioredis reconnects by itself
  const queue = new Queue<JobData>(queueName, { connection })
  const beats = heartbeatsKey(queueName)
  queue.on('error', () => undefined)
  const jobOptions = {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  }
  // Runs accepted at one moment (a burst of requests) go to Redis in one addBulk: the first at the end of the
  // turn, those that come while a batch is in flight with the next one. Each request still waits for its own job.
  const waiting: Array<{ jobId: string; resolve: () => void; reject: (error: unknown) => void }> = []
  let adding = false
  const addWaiting = async () => {
    adding = true
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, 500)
        await withTimeout(
          queue.addBulk(batch.map(({ jobId }) => ({ name: 'run', data: { jobId }, opts: { jobId, ...jobOptions } }))),
          ENQUEUE_TIMEOUT_MS,
          'Redis did not accept the job',
        ).then(
          () => batch.forEach((entry) => entry.resolve()),
          (error) => batch.forEach((entry) => entry.reject(error)),
        )
      }
    } finally {
      adding = false
    }
  }
  return {
    backend: 'bullmq',
    async enqueue(jobId) {
      // ioredis would queue the command until Redis returns; a request must get its 503 instead.
      if (connection.status !== 'ready') await waitReady(connection, ENQUEUE_TIMEOUT_MS)
      await new Promise<void>((resolve, reject) => {
        if (waiting.length === 0 && !adding) queueMicrotask(() => void addWaiting())
        waiting.push({ jobId, resolve, reject })
      })
    },
    async schedule(task: ScheduledTask) {
      if (task.name === 'run') throw new Error('jobs: a scheduled task cannot be named "run" (council jobs are)')
      if (connection.status !== 'ready') await waitReady(connection, ENQUEUE_TIMEOUT_MS)
      await withTimeout(
        queue.upsertJobScheduler(
          task.name,
          { every: task.everyMs },
          { name: task.name, data: { jobId: task.name }, opts: { removeOnComplete: { count: 10 }, removeOnFail: { count: 100 } } },
        ),
        ENQUEUE_TIMEOUT_MS,
        'Redis did not accept the schedule',
      )
    },
    async unschedule(name) {
      if (connection.status !== 'ready') await waitReady(connection, ENQUEUE_TIMEOUT_MS)
      await withTimeout(queue.removeJobScheduler(name), ENQUEUE_TIMEOUT_MS, 'Redis did not remove the schedule')
    },
    async cancel(jobId) {
      const job = await queue.getJob(jobId)
      if (!job) return
      const state = await job.getState()
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove()
    },
    async health(): Promise<QueueHealth> {
      const now = Date.now()
      await connection.zremrangebyscore(beats, 0, now - HEARTBEAT_STALE_MS)
      // Jobs are pushed on the left of the wait list: ascending from 0 is the oldest.
      const [counts, workers, last, oldest] = await Promise.all([
        queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
        connection.zcard(beats),
        connection.get(lastHeartbeatKey(queueName)),
        queue.getJobs(['wait'], 0, 0, true),
      ])
      return {
        backend: 'bullmq',
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        workers,
        last_heartbeat_at: last ? Number(last) : null,
        oldest_waiting_at: oldest[0]?.timestamp ?? null,
      }
    },
    async close() {
      await queue.close()
      connection.disconnect()
    },
  }
}

export interface BullWorkerOptions {
  redisUrl: string
  queueName: string
  process: JobProcessor
  concurrency: number
  /** How long a job's lock lasts without renewal; a dead worker's job is retaken after about this long. */
  lockDurationMs?: number
  workerId?: string
  onEvent?: (event: string, fields: Record<string, unknown>) => void
  /**
   * Called when BullMQ fails a job without running our code (it stalled more
   * often than allowed, e.g. it kills every worker that takes it), so the job
   * row can say so instead of staying "running".
   */
  onAbandoned?: (jobId: string, reason: string) => Promise<void>
  /** Scheduled tasks this worker runs, by name (the queue's repeatable jobs; see JobQueue.schedule). */
  tasks?: Record<string, ScheduledTask['run']>
  /** How often the worker writes its heartbeat (WORKER_HEARTBEAT_MS). */
  heartbeatMs?: number
}

/**
 * @example
 * const worker = startBullWorker({ redisUrl, process: executor.process, concurrency: 50 })
 * process.on('SIGTERM', () => worker.close())
 */
export function startBullWorker({
  redisUrl,
  queueName,
  process: processJob,
  concurrency,
  lockDurationMs = 30_000,
  workerId = `${require('node:os').hostname()}:${process.pid}`,
  onEvent,
  onAbandoned,
  tasks = {},
  heartbeatMs = HEARTBEAT_EVERY_MS,
}: BullWorkerOptions) {
  const connection = redisConnection(redisUrl, true)
  const beats = heartbeatsKey(queueName)
  const worker = new Worker<JobData>(
    queueName,
    async (job: Job<JobData>, _token?: string, signal?: AbortSignal) => {
      if (job.name !== 'run') {
        const task = tasks[job.name]
        if (!task) throw new UnrecoverableError(`no scheduled task named "${job.name}" in this worker`)
        await task(signal ?? new AbortController().signal)
        return
      }
      try {
        await processJob(job.data.jobId, {
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
          signal: signal ?? new AbortController().signal,
        })
      } catch (error) {
        if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message)
        throw error
      }
    },
    {
      connection,
      concurrency,
      lockDuration: lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(lockDurationMs / 2)),
      maxStalledCount: 3,
    },
  )
  worker.on('error', (error) => onEvent?.('worker error', { error: error.message }))
  worker.on('stalled', (jobId) => onEvent?.('job stalled; another worker will take it', { job_id: jobId }))
  worker.on('failed', (job, error) => {
    if (job && /stalled more than allowable limit/.test(error.message))
      void onAbandoned?.(job.data.jobId, error.message).catch(() => undefined)
  })

  const beat = () => {
    const now = Date.now()
    return connection.multi().zadd(beats, now, workerId).set(lastHeartbeatKey(queueName), String(now)).exec().catch(() => undefined)
  }
  void beat()
  const heartbeat = setInterval(beat, heartbeatMs)

  return {
    worker,
    workerId,
    /**
     * Stops taking jobs and lets running ones finish for up to graceMs; then
     * aborts them — the executor puts each back to "queued", and since this
     * worker no longer holds its lock another worker resumes it from its last
     * stored stage. (BullMQ's close(true) after a pending close() is a no-op,
     * so the abort goes through cancelAllJobs.)
     */
    async close(graceMs = 25_000) {
      clearInterval(heartbeat)
      await connection.zrem(beats, workerId).catch(() => undefined)
      const closing = worker.close()
      const timedOut = await Promise.race([closing.then(() => false), Bun.sleep(graceMs).then(() => true)])
      if (timedOut) {
        onEvent?.('shutdown grace over; releasing running jobs', { grace_ms: graceMs })
        worker.cancelAllJobs('worker shutting down')
        await Promise.race([closing, Bun.sleep(5000)])
      }
      connection.disconnect()
    },
  }
}
