/**
 * The status page's moving parts, built once per process: the service the
 * routes read, the probe sampler and the staleness monitor, and the two leased
 * timers that run them on one instance at a time (a lease each). `/readyz`'s
 * checks are probed as they are, plus the LLM provider: the status page asks
 * it, /readyz never does (it must not depend on a third party).
 */
import type { Logger } from '../../../plugins/logging/logger'
import type { ComponentCheck } from '../../../plugins/health'
import type { Config } from '../../config'
import type { AuditLog } from '../../../plugins/audit'
import type { Stores } from '../../stores'
import type { JobQueue } from '../../../plugins/jobs'
import { leasedPeriodic, type Periodic } from './periodic'
import { createStatusSampler } from './sampler'
import { createStatusService, type StatusService } from './service'
import { createStalenessMonitor, type StalenessMonitor } from './staleness'

interface StatusOperationsDeps {
  config: Config
  stores: Stores
  audit: AuditLog
  logger: Logger
  queue: Pick<JobQueue, 'health'>
  readiness: Record<string, ComponentCheck>
  probeLlm?: (signal: AbortSignal) => Promise<unknown>
}

export interface StatusOperations {
  status: StatusService
  staleness: StalenessMonitor
  background: { sampler: Periodic | null; staleness: Periodic | null }
}

/**
 * @example
 * const { status, staleness, background } = createStatusOperations({ config, stores, audit, logger, queue, readiness, probeLlm: llm.probe })
 */
export function createStatusOperations({ config, stores, audit, logger, queue, readiness, probeLlm }: StatusOperationsDeps): StatusOperations {
  const ops = config.operations
  const status = createStatusService({ stores, audit, sampleMs: ops.statusSampleMs || 60_000 })
  const sampler = createStatusSampler({
    stores,
    checks: { ...readiness, llm: { required: false, check: async () => void (await probeLlm?.(AbortSignal.timeout(ops.readyz.timeoutMs))) } },
    timeoutMs: ops.readyz.timeoutMs,
    slowMs: ops.readyz.slowMs,
    everyMs: ops.statusSampleMs || 60_000,
    keepDays: ops.statusSampleDays,
  })
  const staleness = createStalenessMonitor({
    queue,
    thresholds: ops.readyz,
    logger,
    webhook: { url: config.budgets.alertWebhookUrl, timeoutMs: config.budgets.alertWebhookTimeoutMs },
  })
  const onBackgroundError = (what: string) => (error: unknown) => logger.warn(`${what} failed`, { error: (error as Error).message })
  const every = (name: string, everyMs: number, run: () => Promise<unknown>, what: string) =>
    everyMs > 0 ? leasedPeriodic(stores.audit.outbox, { name, everyMs, run }, onBackgroundError(what)) : null
  return {
    status,
    staleness,
    background: {
      sampler: every('status-sampler', ops.statusSampleMs, () => sampler.sample(), 'status probe'),
      staleness: every('staleness', ops.stalenessCheckMs, () => staleness.check(), 'staleness check'),
    },
  }
}
