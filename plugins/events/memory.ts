/**
 * Job events in this process's memory, for the in-process runner (the server
 * both publishes and serves them). Each job keeps a bounded buffer, dropped a
 * while after its `done` (or after a long silence) by one sweep timer.
 *
 * Ids are one counter for all jobs, started from the clock in microseconds,
 * so ids stay increasing across a restart: a client resuming with an id from
 * before the restart gets every event of the resumed job, not a gap.
 */
import type { EventLogLimits, JobEvent, JobEventLog, NewJobEvent } from './types'

interface JobLog {
  events: JobEvent[]
  listeners: Set<(event: JobEvent) => void>
  expiresAt: number
}

const ID = /^\d{1,16}$/

/**
 * @example
 * const log = createMemoryEventLog({ maxEvents: 5000, retainMs: 3_600_000, idleMs: 21_600_000 })
 * await log.publish(jobId, { type: 'stage', data: { stage: 'draft' } })
 */
export function createMemoryEventLog({ maxEvents, retainMs, idleMs, now = Date.now }: EventLogLimits & { now?: () => number }): JobEventLog {
  const jobs = new Map<string, JobLog>()
  let counter = now() * 1000
  const logOf = (jobId: string) => {
    let log = jobs.get(jobId)
    if (!log) jobs.set(jobId, (log = { events: [], listeners: new Set(), expiresAt: now() + idleMs }))
    return log
  }
  const sweep = () => {
    const at = now()
    for (const [jobId, log] of jobs) if (log.expiresAt <= at && log.listeners.size === 0) jobs.delete(jobId)
  }
  const timer = setInterval(sweep, Math.max(1000, Math.min(retainMs, 60_000)))
  timer.unref()

  return {
    backend: 'memory',
    async publish(jobId, event: NewJobEvent) {
      const log = logOf(jobId)
      const stored: JobEvent = { id: String(++counter), type: event.type, data: event.data }
      log.events.push(stored)
      if (log.events.length > maxEvents) log.events.splice(0, log.events.length - maxEvents)
      log.expiresAt = now() + (event.type === 'done' ? retainMs : idleMs)
      for (const listener of log.listeners) {
        try {
          listener(stored)
        } catch {
          // One broken listener must not keep the event from the others.
        }
      }
      return stored.id
    },
    async history(jobId, after) {
      const log = jobs.get(jobId)
      // An expired log the sweep has not reached yet is already gone.
      const events = log && (log.expiresAt > now() || log.listeners.size > 0) ? log.events : []
      if (after === null) return [...events]
      const from = Number(after)
      return events.filter((event) => Number(event.id) > from)
    },
    async subscribe(jobId, listener) {
      const log = logOf(jobId)
      log.listeners.add(listener)
      return () => {
        log.listeners.delete(listener)
      }
    },
    async followed(jobIds) {
      return new Set(jobIds.filter((jobId) => (jobs.get(jobId)?.listeners.size ?? 0) > 0))
    },
    compare: (a, b) => Number(a) - Number(b),
    isId: (id) => ID.test(id),
    async health() {
      return { backend: 'memory', jobs: jobs.size }
    },
    async close() {
      clearInterval(timer)
      jobs.clear()
    },
  }
}
