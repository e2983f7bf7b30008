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
  /** Text of a running call; written as `delta` events, gathered every `deltaMs`, only while someone follows the job. */
  delta(jobId: string, call: { stage: string; agent: string }, text: string): void
  /**
   * Whether someone follows the job now (asked as each LLM call starts, to stream only what can be seen). The
   * questions of one moment share one look at the log; an answer is reused for `deltaMs`.
   */
  following(jobId: string): Promise<boolean>
  /** Resolves when every event published so far is written (tests, shutdown). */
  flush(): Promise<void>
}

/** A running call's text not yet written. */
interface PendingCall {
  stage: string
  agent: string
  text: string
}

/** A job with calls being written: whether someone followed it at the last look, and its calls' unwritten text. */
interface LiveJob {
  followed: boolean
  calls: Map<string, PendingCall>
}

/**
 * Each event is stamped with `at` (ISO time of publication). The text of
 * running calls is gathered, and every `deltaMs` one look at the log (one
 * PUBSUB NUMSUB on Redis, for all jobs at once) says which of their jobs
 * someone follows: those get what was gathered as `delta` events; the others
 * write nothing — on a busy worker most councils have no viewer, and their text
 * is stored anyway when each call ends. A follower who arrives mid-call gets
 * the call's text so far in one piece at the next look, then the rest as it
 * comes, so a call's deltas always join up into a prefix of its text. A
 * followed job's gathered text is written before any other event of its job,
 * so the order a client sees is the order things happened; a call that ends
 * while nobody follows drops its gathered text (its `member` event says it landed).
 * @example
 * const sink = createEventPublisher(log, { deltaMs: 100, onError: (error) => logger.warn('event lost', { error: error.message }) })
 * sink.publish(job.id, 'stage', { stage: 'draft' })
 */
export function createEventPublisher(
  log: JobEventLog,
  { deltaMs = 100, onError }: { deltaMs?: number; onError?: (error: Error, jobId: string) => void } = {},
): JobEventSink {
  const writes = new Set<Promise<unknown>>()
  const live = new Map<string, LiveJob>()
  let timer: Timer | null = null
  let looking: Promise<void> | null = null
  const write = (jobId: string, type: JobEventType, data: Record<string, unknown>) => {
    const written = log
      .publish(jobId, { type, data: { ...data, at: new Date().toISOString() } })
      .catch((error: Error) => onError?.(error, jobId))
      .finally(() => writes.delete(written))
    writes.add(written)
  }
  const writeGathered = (jobId: string, job: LiveJob) => {
    for (const call of job.calls.values())
      if (call.text) {
        write(jobId, 'delta', { stage: call.stage, agent: call.agent, text: call.text })
        call.text = ''
      }
  }
  /** One look: which jobs with running calls are followed; their gathered text is written. */
  const look = (): Promise<void> =>
    (looking ??= (async () => {
      const ids = [...live.keys()]
      const followed = ids.length > 0 ? await log.followed(ids).catch(() => new Set<string>()) : new Set<string>()
      for (const jobId of ids) {
        const job = live.get(jobId)
        if (!job) continue
        job.followed = followed.has(jobId)
        if (job.followed) writeGathered(jobId, job)
      }
    })().finally(() => {
      looking = null
      if (live.size === 0 && timer) {
        clearInterval(timer)
        timer = null
      }
    }))
  // Answers to following(): asked together, kept for deltaMs.
  const known = new Map<string, { followed: boolean; at: number }>()
  let asking: Map<string, Array<(followed: boolean) => void>> | null = null
  const ask = async (questions: Map<string, Array<(followed: boolean) => void>>) => {
    const followed = await log.followed([...questions.keys()]).catch(() => new Set<string>())
    const at = Date.now()
    if (known.size > 10_000) known.clear()
    for (const [jobId, answers] of questions) {
      known.set(jobId, { followed: followed.has(jobId), at })
      for (const answer of answers) answer(followed.has(jobId))
    }
  }
  return {
    following(jobId) {
      const answer = known.get(jobId)
      if (answer && Date.now() - answer.at < deltaMs) return Promise.resolve(answer.followed)
      return new Promise<boolean>((resolve) => {
        if (!asking) {
          const questions = (asking = new Map())
          queueMicrotask(() => {
            asking = null
            void ask(questions)
          })
        }
        const waiting = asking.get(jobId)
        if (waiting) waiting.push(resolve)
        else asking.set(jobId, [resolve])
      })
    },
    publish(jobId, type, data) {
      if (type === 'done') known.delete(jobId)
      const job = live.get(jobId)
      if (job) {
        if (job.followed) writeGathered(jobId, job)
        // A call that ended (its member event) or a job that ended or went back to the queue has nothing more to gather.
        if (type === 'done' || (type === 'progress' && data.status === 'queued')) live.delete(jobId)
        else if (type === 'member' && data.state !== 'started') {
          job.calls.delete(`${data.stage}\u0000${data.agent}`)
          if (job.calls.size === 0) live.delete(jobId)
        }
      }
      write(jobId, type, data)
    },
    delta(jobId, { stage, agent }, text) {
      let job = live.get(jobId)
      if (!job) live.set(jobId, (job = { followed: false, calls: new Map() }))
      const key = `${stage}\u0000${agent}`
      const call = job.calls.get(key)
      if (call) call.text += text
      else job.calls.set(key, { stage, agent, text })
      if (!timer) {
        timer = setInterval(() => void look(), deltaMs)
        timer.unref()
      }
    },
    async flush() {
      await look()
      while (writes.size > 0) await Promise.all([...writes])
    },
  }
}
