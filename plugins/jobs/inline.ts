/**
 * The embedded runner: jobs run in the server's own process, with bounded
 * concurrency, retries with exponential backoff, and cancellation. It keeps
 * nothing but ids in memory; on start the server re-enqueues jobs the
 * database still shows as queued or running, so a restart loses none.
 */
import type { JobProcessor, JobQueue, ScheduledTask } from './types'
import { JobCancelled, PermanentJobError } from './types'

export interface InlineOptions {
  process: JobProcessor
  concurrency: number
  attempts: number
  backoffMs?: number
  onError?: (jobId: string, error: unknown) => void
}

export function createInlineQueue({ process, concurrency, attempts, backoffMs = 1000, onError }: InlineOptions): JobQueue & {
  idle(): Promise<void>
} {
  const waiting: Array<{ jobId: string; attempt: number; at: number }> = []
  const running = new Map<string, AbortController>()
  const timers = new Set<Timer>()
  let closed = false
  let idleWaiters: Array<() => void> = []
  const schedules = new Map<string, { timers: Timer[]; controller: AbortController; running: Promise<unknown> | null }>()
  /** The first run comes soon after start (an instance that restarts often still runs it), then every period. */
  const FIRST_RUN_MAX_MS = 30_000

  const settleIdle = () => {
    if (waiting.length === 0 && running.size === 0 && timers.size === 0) {
      for (const resolve of idleWaiters) resolve()
      idleWaiters = []
    }
  }

  const pump = () => {
    while (!closed && running.size < concurrency && waiting.length > 0) {
      const { jobId, attempt } = waiting.shift()!
      if (running.has(jobId)) continue
      const controller = new AbortController()
      running.set(jobId, controller)
      process(jobId, { attempt, maxAttempts: attempts, signal: controller.signal })
        .catch((error) => {
          onError?.(jobId, error)
          if (closed || controller.signal.aborted || error instanceof PermanentJobError || attempt >= attempts) return
          const timer = setTimeout(
            () => {
              timers.delete(timer)
              waiting.push({ jobId, attempt: attempt + 1, at: Date.now() })
              pump()
            },
            backoffMs * 2 ** (attempt - 1),
          )
          timers.add(timer)
        })
        .finally(() => {
          running.delete(jobId)
          pump()
          settleIdle()
        })
    }
  }

  return {
    backend: 'inline',
    async enqueue(jobId) {
      if (closed) throw new Error('the job runner is shutting down')
      waiting.push({ jobId, attempt: 1, at: Date.now() })
      queueMicrotask(pump)
    },
    async schedule(task: ScheduledTask) {
      const previous = schedules.get(task.name)
      for (const timer of previous?.timers ?? []) clearTimeout(timer)
      const entry = { timers: [] as Timer[], controller: new AbortController(), running: null as Promise<unknown> | null }
      const tick = () => {
        if (closed || entry.running) return
        entry.running = task
          .run(entry.controller.signal)
          .catch((error) => onError?.(task.name, error))
          .finally(() => (entry.running = null))
      }
      entry.timers.push(setTimeout(tick, Math.min(task.everyMs, FIRST_RUN_MAX_MS)), setInterval(tick, task.everyMs))
      for (const timer of entry.timers) timer.unref()
      schedules.set(task.name, entry)
    },
    async unschedule(name) {
      const entry = schedules.get(name)
      for (const timer of entry?.timers ?? []) clearTimeout(timer)
      schedules.delete(name)
    },
    async cancel(jobId) {
      const index = waiting.findIndex((entry) => entry.jobId === jobId)
      if (index >= 0) waiting.splice(index, 1)
      running.get(jobId)?.abort(new JobCancelled())
    },
    async health() {
      return { backend: 'inline' as const, waiting: waiting.length, active: running.size, oldest_waiting_at: waiting[0]?.at ?? null }
    },
    /** Resolves when nothing is waiting, running or scheduled for retry (tests). */
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve)
        settleIdle()
      })
    },
    async close() {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const entry of schedules.values()) {
        for (const timer of entry.timers) clearTimeout(timer)
        entry.controller.abort()
      }
      await Promise.race([Promise.all([...schedules.values()].map((entry) => entry.running)), Bun.sleep(10_000)])
      for (const controller of running.values()) controller.abort()
      const deadline = Date.now() + 10_000
      while (running.size > 0 && Date.now() < deadline) await Bun.sleep(20)
    },
  }
}
