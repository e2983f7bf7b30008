/**
 * The jobs plugin: picks the runner by JOBS_BACKEND (inline | bullmq) and
 * reports its state to /readyz as the `queue` and `worker` components.
 */
import type { Config } from '../../src/config'
import type { ComponentCheck } from '../health'
import { createBullQueue } from './bullmq'
import { createInlineQueue } from './inline'
import type { JobProcessor, JobQueue } from './types'

export * from './types'

/**
 * @example
 * const queue = createJobQueue(config, executor.process)
 */
export function createJobQueue(config: Config, process: JobProcessor, onError?: (jobId: string, error: unknown) => void): JobQueue {
  if (config.jobs.backend === 'bullmq') return createBullQueue({ redisUrl: config.jobs.redisUrl, queueName: config.jobs.queueName, attempts: config.jobs.attempts })
  return createInlineQueue({ process, concurrency: config.jobs.concurrency, attempts: config.jobs.attempts, onError })
}

/** /readyz components: the queue must answer; with BullMQ, no live worker means degraded (jobs wait). */
export function jobsReadiness(queue: JobQueue): Record<string, ComponentCheck> {
  let last: Promise<Record<string, unknown>> | null = null
  const stats = () => (last ??= queue.health().finally(() => setTimeout(() => (last = null), 0)))
  return {
    queue: { required: true, check: async () => stats() },
    worker: {
      required: false,
      check: async () => {
        const health = await stats()
        if (health.backend === 'inline') return { backend: 'inline', in_process: true }
        if (!health.workers) throw new Error('no worker has sent a heartbeat in 15 s; start one with `bun run worker`')
        return { workers: health.workers }
      },
    },
  }
}
