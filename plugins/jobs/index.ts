/**
 * The jobs plugin: picks the runner by JOBS_BACKEND (inline | bullmq) and
 * reports its state to /readyz as the `queue` and `worker` components.
 */
import type { Config } from '../../src/config'
import { ComponentState, type ComponentCheck } from '../health'
import { createBullQueue } from './bullmq'
import { createInlineQueue } from './inline'
import type { JobProcessor, JobQueue, QueueHealth } from './types'

export * from './types'

/**
 * @example
 * const queue = createJobQueue(config, executor.process)
 */
export function createJobQueue(config: Config, process: JobProcessor, onError?: (jobId: string, error: unknown) => void): JobQueue {
  if (config.jobs.backend === 'bullmq') return createBullQueue({ redisUrl: config.jobs.redisUrl, queueName: config.jobs.queueName, attempts: config.jobs.attempts })
  return createInlineQueue({ process, concurrency: config.jobs.concurrency, attempts: config.jobs.attempts, onError })
}

export interface JobsThresholds {
  /** Age of the newest worker heartbeat (READYZ_WORKER_*). */
  worker: { degradedMs: number; failMs: number }
  /** Age of the oldest job waiting for a runner (READYZ_BACKLOG_*). */
  backlog: { degradedMs: number; failMs: number }
}

/** The ages /readyz and the staleness alerts judge, from one health() answer; null when there is nothing to age. */
export function queueAges(health: QueueHealth, now = Date.now()) {
  const worker =
    health.backend === 'inline' ? 0 : health.last_heartbeat_at == null ? null : Math.max(0, now - health.last_heartbeat_at)
  const backlog = health.oldest_waiting_at == null ? 0 : Math.max(0, now - health.oldest_waiting_at)
  return { workerMs: worker, backlogMs: backlog }
}

/** `degraded` or `fail` past a threshold, with the age (and its limits) in the details either way. */
function judgeAge(ageMs: number | null, limits: { degradedMs: number; failMs: number }, what: string, details: Record<string, unknown>) {
  if (ageMs === null) throw new ComponentState('fail', `no ${what} yet`, details)
  if (ageMs > limits.failMs) throw new ComponentState('fail', `${what} is ${Math.round(ageMs / 1000)} s old (fail above ${limits.failMs} ms)`, details)
  if (ageMs > limits.degradedMs) throw new ComponentState('degraded', `${what} is ${Math.round(ageMs / 1000)} s old (degraded above ${limits.degradedMs} ms)`, details)
  return details
}

/**
 * /readyz components: the queue must answer; the worker (age of the newest
 * heartbeat) and the backlog (age of the oldest waiting job) turn `degraded`,
 * then `fail`, past their thresholds. Both are optional: the API keeps serving
 * while jobs wait, so the instance stays in its load balancer (200 degraded).
 */
export function jobsReadiness(queue: JobQueue, thresholds: JobsThresholds): Record<string, ComponentCheck> {
  let last: Promise<QueueHealth> | null = null
  const stats = () => (last ??= queue.health().finally(() => setTimeout(() => (last = null), 0)))
  return {
    queue: { required: true, check: async () => stats() },
    worker: {
      required: false,
      check: async () => {
        const health = await stats()
        if (health.backend === 'inline') return { backend: 'inline', in_process: true, heartbeat_age_ms: 0 }
        const { workerMs } = queueAges(health)
        const details = { workers: health.workers ?? 0, heartbeat_age_ms: workerMs }
        if (workerMs === null) throw new ComponentState('fail', 'no worker has sent a heartbeat; start one with `bun run worker`', details)
        return judgeAge(workerMs, thresholds.worker, 'the newest worker heartbeat', details)
      },
    },
    backlog: {
      required: false,
      check: async () => {
        const health = await stats()
        const { backlogMs } = queueAges(health)
        return judgeAge(backlogMs, thresholds.backlog, 'the oldest waiting job', { waiting: health.waiting, oldest_waiting_age_ms: backlogMs })
      },
    },
  }
}
