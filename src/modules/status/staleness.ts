/**
 * Staleness alerts (issue 11 item 5): every STALENESS_CHECK_MS the instance
 * holding the `staleness` lease reads the queue's health; when the newest
 * worker heartbeat or the oldest waiting job passes its `degraded` threshold
 * (READYZ_WORKER_DEGRADED_MS, READYZ_BACKLOG_DEGRADED_MS) it raises one alert —
 * one structured log line at error level and one JSON POST to
 * ALERT_WEBHOOK_URL — and nothing more while it stays stale; when it recovers,
 * one "resolved" the same way. A queue that cannot be read changes nothing
 * (its own /readyz component says so).
 */
import type { JobQueue, JobsThresholds } from '../../../plugins/jobs'
import { queueAges } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'

export type StaleSignal = 'worker_heartbeat' | 'queue_backlog'

export interface StalenessAlert {
  type: 'staleness_alert'
  signal: StaleSignal
  state: 'firing' | 'resolved'
  /** The age now, in ms (null: no worker has ever sent a heartbeat). */
  age_ms: number | null
  threshold_ms: number
  at: string
}

export interface StalenessDeps {
  queue: Pick<JobQueue, 'health'>
  thresholds: JobsThresholds
  logger: Logger
  webhook: { url: string | null; timeoutMs: number }
  send?: typeof fetch
  now?: () => number
}

/**
 * @example
 * const staleness = createStalenessMonitor({ queue, thresholds: config.operations.readyz, logger, webhook })
 * await staleness.check()
 */
export function createStalenessMonitor({ queue, thresholds, logger, webhook, send = fetch, now = Date.now }: StalenessDeps) {
  const firing = new Set<StaleSignal>()
  const pending = new Set<Promise<void>>()
  /**
   * A heartbeat never seen is stale only once the monitor has waited the
   * threshold itself: a server that starts a few seconds before its workers
   * (a rolling start, compose bringing services up) is not an outage.
   */
  const startedAt = now()

  const deliver = (alert: StalenessAlert) => {
    if (!webhook.url) return
    const delivery = send(webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(webhook.timeoutMs),
    })
      .then(async (res) => {
        if (!res.ok) logger.warn('staleness alert webhook refused the alert', { status: res.status, signal: alert.signal, state: alert.state })
        await res.body?.cancel().catch(() => undefined)
      })
      .catch((error: Error) => logger.warn('staleness alert webhook failed', { error: error.message, signal: alert.signal, state: alert.state }))
      .finally(() => pending.delete(delivery))
    pending.add(delivery)
  }

  const judge = (signal: StaleSignal, ageMs: number | null, thresholdMs: number) => {
    const stale = ageMs === null ? now() - startedAt > thresholdMs : ageMs > thresholdMs
    if (stale === firing.has(signal)) return
    const alert: StalenessAlert = { type: 'staleness_alert', signal, state: stale ? 'firing' : 'resolved', age_ms: ageMs, threshold_ms: thresholdMs, at: new Date(now()).toISOString() }
    if (stale) {
      firing.add(signal)
      logger.error('staleness alert', { ...alert })
    } else {
      firing.delete(signal)
      logger.info('staleness resolved', { ...alert })
    }
    deliver(alert)
  }

  return {
    /** Reads the queue once and raises or resolves what changed. */
    async check(): Promise<void> {
      let health
      try {
        health = await queue.health()
      } catch {
        return
      }
      const ages = queueAges(health, now())
      if (health.backend === 'bullmq') judge('worker_heartbeat', ages.workerMs, thresholds.worker.degradedMs)
      judge('queue_backlog', ages.backlogMs, thresholds.backlog.degradedMs)
    },
    /** The signals alerting now. */
    firing: () => [...firing],
    /** Waits for webhook posts in flight (shutdown, tests). */
    async flush(): Promise<void> {
      await Promise.all([...pending])
    },
  }
}

export type StalenessMonitor = ReturnType<typeof createStalenessMonitor>
