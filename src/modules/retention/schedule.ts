/**
 * Where retention runs: with the in-process runner, in the server on a timer;
 * with BullMQ, as a repeatable job of the council queue that one worker takes
 * per RETENTION_INTERVAL_MS (workers/council.ts). RETENTION_INTERVAL_MS=0
 * schedules nothing (run `bun run retention` from cron instead).
 */
import type { ScheduledTask } from '../../../plugins/jobs'
import type { Config } from '../../config'
import type { RetentionService } from './service'

export const RETENTION_TASK = 'retention'

/**
 * @example
 * const task = retentionTask(config, deps.retention)
 * if (task) await deps.queue.schedule(task)
 */
export function retentionTask(config: Config, retention: RetentionService): ScheduledTask | null {
  if (config.retention.intervalMs === 0) return null
  return { name: RETENTION_TASK, everyMs: config.retention.intervalMs, run: (signal) => retention.run(signal) }
}
