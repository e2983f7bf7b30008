/**
 * The events plugin: picks the job event log by EVENTS_BACKEND (memory for the
 * in-process runner, redis when BullMQ workers run jobs elsewhere), follows a
 * job from a Last-Event-ID without loss or repeats, and gives runners a
 * publisher that never blocks or fails a job (an event that cannot be written
 * is logged, and the job goes on).
 */
import type { Config } from '../../src/config'
import type { ComponentCheck } from '../health'
import { createMemoryEventLog } from './memory'
import { createRedisEventLog } from './redis'
import type { JobEvent, JobEventLog, JobEventType } from './types'

export * from './types'

/**
 * @example
 * const events = createEventLog(config)
 */
export function createEventLog(config: Config): JobEventLog {
  const { backend, prefix, ...limits } = config.events
  if (backend === 'redis') return createRedisEventLog({ url: config.jobs.redisUrl, prefix, ...limits })
  return createMemoryEventLog(limits)
}

/** /readyz: the Redis log is an `events` component that is not required (without it pages fall back to polling). */
export function eventsReadiness(log: JobEventLog): Record<string, ComponentCheck> {
  if (log.backend !== 'redis') return {}
  return { events: { required: false, check: () => log.health() } }
}

/**
 * A job's events after `after`, then live ones as they come, until `done` or
 * the signal aborts. Listening starts before the stored events are read, and
 * an event is passed on only if its id is above the last one passed on, so
 * whatever arrives while the history is read is neither lost nor repeated.
 * `idle` runs whenever nothing arrived for `idleMs` (heartbeats, and a check
 * that the job has not ended without a `done` reaching the log).
 * @example
 * for await (const event of followJob(log, jobId, request.headers.get('last-event-id'), { signal })) send(event)
 */
export async function* followJob(
  log: JobEventLog,
  jobId: string,
  after: string | null,
  { signal, idleMs = 15_000, idle }: { signal: AbortSignal; idleMs?: number; idle?: () => void | Promise<void> },
): AsyncGenerator<JobEvent> {
  const pending: JobEvent[] = []
  let wake: (() => void) | null = null
  const rouse = () => {
    wake?.()
    wake = null
  }
  const stop = await log.subscribe(jobId, (event) => {
    pending.push(event)
    rouse()
  })
  signal.addEventListener('abort', rouse, { once: true })
  try {
    let last = after
    const fresh = (event: JobEvent) => last === null || log.compare(event.id, last) > 0
    for (const event of await log.history(jobId, after)) {
      if (!fresh(event)) continue
      last = event.id
      yield event
      if (event.type === 'done') return
    }
    while (!signal.aborted) {
      while (pending.length > 0) {
        const event = pending.shift()!
        if (!fresh(event)) continue
        last = event.id
        yield event
        if (event.type === 'done') return
      }
      if (signal.aborted) return
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), idleMs)
        wake = () => {
          clearTimeout(timer)
          resolve(true)
        }
      })
      if (!woken && !signal.aborted) await idle?.()
    }
  } finally {
    signal.removeEventListener('abort', rouse)
    stop()
  }
}

/** What runners publish through: fire and forget, in order per job. */
export interface JobEventSink {
  publish(jobId: string, type: JobEventType, data: Record<string, unknown>): void
  /** Text of a running call; pieces are gathered and published at most every `deltaMs` per call. */
  delta(jobId: string, call: { stage: string; agent: string }, text: string): void
  /** Resolves when every event published so far is written (tests, shutdown). */
  flush(): Promise<void>
}

/**
 * Each event is stamped with `at` (ISO time of publication). Deltas of one call
 * are gathered for `deltaMs`, so a fast stream is a handful of events a
 * second rather than one per token; a pending delta is written before any
 * other event of its job, so the order a client sees is the order things happened.
 * @example
 * const sink = createEventPublisher(log, { deltaMs: 100, onError: (error) => logger.warn('event lost', { error: error.message }) })
 * sink.publish(job.id, 'stage', { stage: 'draft' })
 */
export function createEventPublisher(
  log: JobEventLog,
  { deltaMs = 100, onError }: { deltaMs?: number; onError?: (error: Error, jobId: string) => void } = {},
): JobEventSink {
  const writes = new Set<Promise<unknown>>()
  const deltas = new Map<string, { jobId: string; stage: string; agent: string; text: string; timer: Timer }>()
  const write = (jobId: string, type: JobEventType, data: Record<string, unknown>) => {
    const written = log
      .publish(jobId, { type, data: { ...data, at: new Date().toISOString() } })
      .catch((error: Error) => onError?.(error, jobId))
      .finally(() => writes.delete(written))
    writes.add(written)
  }
  const flushDelta = (key: string) => {
    const pending = deltas.get(key)
    if (!pending) return
    deltas.delete(key)
    clearTimeout(pending.timer)
    write(pending.jobId, 'delta', { stage: pending.stage, agent: pending.agent, text: pending.text })
  }
  const flushJob = (jobId: string) => {
    for (const [key, pending] of deltas) if (pending.jobId === jobId) flushDelta(key)
  }
  return {
    publish(jobId, type, data) {
      flushJob(jobId)
      write(jobId, type, data)
    },
    delta(jobId, { stage, agent }, text) {
      const key = `${jobId}\u0000${stage}\u0000${agent}`
      const pending = deltas.get(key)
      if (pending) {
        pending.text += text
        return
      }
      deltas.set(key, { jobId, stage, agent, text, timer: setTimeout(() => flushDelta(key), deltaMs) })
    },
    async flush() {
      for (const key of [...deltas.keys()]) flushDelta(key)
      while (writes.size > 0) await Promise.all([...writes])
    },
  }
}
