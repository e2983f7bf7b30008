/**
 * A task this server repeats on a timer, at most one run at a time, that one
 * instance of all performs: each run first takes (or renews) a lease row (the
 * retention job's pattern, src/modules/retention), held for three periods, so
 * whoever holds it keeps it while it lives and another instance takes over
 * within three periods of its death. Whoever does not hold it skips the run.
 */
import { hostname } from 'node:os'
import type { AuditStore } from '../../../plugins/audit'

export interface LeasedTask {
  /** Also the lease's name. */
  name: string
  everyMs: number
  run(): Promise<unknown>
}

export interface Periodic {
  /** One run now (taking the lease first); false when another instance holds it. */
  tick(): Promise<boolean>
  start(): void
  /** Stops the timer, waits for a run in progress, gives the lease up. */
  stop(): Promise<void>
}

/**
 * @example
 * const sampler = leasedPeriodic(stores.audit.outbox, { name: 'status-sampler', everyMs: 60_000, run: () => status.sample() }, onError)
 * sampler.start()
 */
export function leasedPeriodic(leases: AuditStore['outbox'], task: LeasedTask, onError: (error: unknown) => void): Periodic {
  const me = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`
  let timer: Timer | null = null
  let running: Promise<boolean> | null = null
  const tick = () =>
    (running ??= (async () => {
      try {
        if (!(await leases.acquireLease(task.name, me, task.everyMs * 3))) return false
        await task.run()
        return true
      } finally {
        running = null
      }
    })())
  return {
    tick,
    start() {
      if (timer) return
      timer = setInterval(() => void tick().catch(onError), task.everyMs)
      timer.unref()
      void tick().catch(onError)
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = null
      await running?.catch(() => undefined)
      await leases.releaseLease(task.name, me).catch(() => undefined)
    },
  }
}
