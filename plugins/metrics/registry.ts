/**
 * The metrics of one app (or worker) instance, in a prom-client Registry of its
 * own — never prom-client's global one — so several apps built in one process
 * (the test suites do this) keep separate counts. Process metrics (CPU, memory,
 * event loop) describe the process, not an app, so they are collected once per
 * process in a registry of their own and appended to every app's output.
 */
import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import { HttpMetrics } from './http'
import { createJobMetrics, registerQueueGauges, type JobObserver } from './jobs'

export interface MetricsOptions {
  /** How long a scrape waits for the job queue's backlog before reporting it as down. */
  queueTimeoutMs?: number
}

export interface AppMetrics {
  /** Tells instances apart (the plugin's seed), so two apps in one process never share hooks. */
  readonly id: string
  readonly registry: Registry
  /** The Content-Type of render()'s output (Prometheus text format 0.0.4). */
  readonly contentType: string
  readonly http: HttpMetrics
  /** Handed to the job executor as its `observe` hook. */
  readonly jobs: JobObserver
  /** Handed to the audit stream (AUDIT_STREAM_URL) as its `observe` hook. */
  readonly auditStream: { delivered(events: number): void; failed(): void }
  /** Reports the queue's backlog and workers (JobQueue.health) on every scrape. */
  watchQueue(queue: { health(): Promise<Record<string, unknown>> }): void
  /** The exposition text: this instance's metrics, then the process's. */
  render(): Promise<string>
}

let processRegistry: Registry | null = null

/**
 * prom-client's defaults that `promtool check metrics` refuses: gauges named
 * like counters (`_total` is for counters). Each is the sum over the `type`
 * label of its namesake without the suffix (nodejs_active_handles, …), which
 * stays, so nothing is lost: `sum(nodejs_active_handles)` is the same number.
 */
const LINT_FAILURES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/** prom-client's default metrics; under Bun some read 0 or have no samples (see STACK_NOTES). */
const processMetrics = (): Registry => {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
    for (const name of LINT_FAILURES) processRegistry.removeSingleMetric(name)
  }
  return processRegistry
}

/**
 * @example
 * const metrics = createMetrics()
 * const executor = createJobExecutor({ …, observe: metrics.jobs })
 * metrics.watchQueue(queue)
 * const text = await metrics.render()
 */
export function createMetrics({ queueTimeoutMs = 1000 }: MetricsOptions = {}): AppMetrics {
  if (!Number.isInteger(queueTimeoutMs) || queueTimeoutMs < 1) throw new Error(`metrics: queueTimeoutMs must be a positive whole number (got ${queueTimeoutMs})`)
  const registry = new Registry()
  const http = new HttpMetrics()
  for (const metric of http.metrics()) registry.registerMetric(metric)
  const jobs = createJobMetrics(registry)
  let watching = false
  return {
    id: crypto.randomUUID(),
    registry,
    contentType: registry.contentType,
    http,
    jobs,
    auditStream: auditStreamCounters(registry),
    watchQueue(queue) {
      if (watching) throw new Error('metrics: watchQueue was already called for this instance')
      watching = true
      registerQueueGauges(registry, () => queue.health(), queueTimeoutMs)
    },
    async render() {
      const [own, process] = await Promise.all([registry.metrics(), processMetrics().metrics()])
      return `${own}\n${process}`
    },
  }
}

function auditStreamCounters(registry: Registry) {
  const delivered = new Counter({ name: 'audit_stream_events_delivered_total', help: 'Audit events the SIEM acknowledged (2xx).', registers: [registry] })
  const failed = new Counter({ name: 'audit_stream_failures_total', help: 'Failed deliveries to the SIEM (each is retried).', registers: [registry] })
  return { delivered: (events: number) => delivered.inc(events), failed: () => failed.inc() }
}
