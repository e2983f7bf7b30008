/**
 * Streams the audit trail to a SIEM (AUDIT_STREAM_URL): JSON lines over HTTP
 * POST (`Content-Type: application/x-ndjson`), in batches, drained from the
 * outbox that every audit write fills in the same transaction as its event
 * (plugins/audit/index.ts). A committed event is therefore always in the
 * outbox and a rolled-back one never is.
 *
 * One drainer at a time: each process that runs createDeps starts a stream,
 * and before every batch a stream takes or renews the lease row `siem`
 * (AuditOutbox.acquireLease) for max(30 s, 3 × AUDIT_STREAM_TIMEOUT_MS). Only
 * the holder sends; the others retry the lease every poll, so a dead holder is
 * replaced once its lease runs out, and a stopped one gives it up at once.
 *
 * Delivery: entries go oldest first (outbox `seq`), and are deleted only after
 * the SIEM answered 2xx. Non-2xx, redirects (not followed: a 302 would turn the
 * POST into a GET), timeouts and refused connections are retried with capped
 * exponential backoff; nothing is dropped however long the SIEM is down. The
 * guarantee is at-least-once: a batch is sent again when the process dies, or
 * its database write fails, between the SIEM's 2xx and the delete (a delete
 * that fails is retried before anything new is sent, so the live drainer never
 * repeats itself), or when a holder stalls longer than its lease. Each line
 * carries the event's own `id` (UUIDv7) for the SIEM to deduplicate on.
 * Order: by outbox `seq`, which on PostgreSQL is taken at insert time; events
 * of transactions that commit concurrently may arrive in either order, events
 * recorded one after another arrive in that order.
 */
import { hostname } from 'node:os'
import type { ComponentCheck } from '../health'
import type { Logger } from '../logging/logger'
import type { AuditOutbox } from './types'

const LEASE = 'siem'

export interface AuditStreamOptions {
  outbox: AuditOutbox
  url: string
  /** Sent as the Authorization header (e.g. `Splunk <token>`, `Bearer <token>`); never logged. */
  authorization?: string | null
  /** Events per POST. */
  batchSize: number
  /** How long one POST may take. */
  timeoutMs: number
  /** First retry delay; doubled per consecutive failure up to `backoffMaxMs`. */
  backoffMs: number
  backoffMaxMs: number
  /** How often an idle (or standby) stream looks for new events (or the lease). */
  pollMs: number
  /** Readiness reports the stream degraded once the oldest waiting event is older than this. */
  maxLagMs: number
  logger: Logger
  /** How long a holder keeps the lease without renewing it; default max(30 s, 3 × timeoutMs). */
  leaseMs?: number
  /** Names this process in the lease row. */
  holder?: string
  /** Counters for metrics. */
  observe?: { delivered(events: number): void; failed(): void }
}

interface AuditStreamStatus {
  /** Events waiting in the outbox (all processes'). */
  backlog: number
  oldestAgeMs: number | null
  /** Whether this process holds the lease (is the drainer). */
  draining: boolean
  /** The last failure of this process's drainer since its last delivery, or null. */
  lastError: string | null
  lastDeliveredAt: Date | null
  lagging: boolean
}

export interface AuditStream {
  start(): void
  /**
   * Stops draining. Before that, keeps delivering for up to `graceMs` while the
   * SIEM accepts; what is left stays in the outbox for the next drainer.
   */
  stop(graceMs?: number): Promise<void>
  status(): Promise<AuditStreamStatus>
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300)

/**
 * @example
 * const stream = createAuditStream({ outbox: stores.audit.outbox, url, batchSize: 500, timeoutMs: 10_000,
 *   backoffMs: 1000, backoffMaxMs: 60_000, pollMs: 1000, maxLagMs: 300_000, logger })
 * stream.start()
 * await stream.stop(5000)
 */
export function createAuditStream(options: AuditStreamOptions): AuditStream {
  const { outbox, url, authorization, batchSize, timeoutMs, backoffMs, backoffMaxMs, pollMs, maxLagMs, logger, observe } = options
  for (const [name, value] of Object.entries({ batchSize, timeoutMs, backoffMs, backoffMaxMs, pollMs, maxLagMs }))
    if (!Number.isInteger(value) || value < 1) throw new Error(`audit stream: ${name} must be a positive whole number (got ${value})`)
  if (!/^https?:\/\//i.test(url)) throw new Error('audit stream: url must be http(s)://…')
  const leaseMs = options.leaseMs ?? Math.max(30_000, 3 * timeoutMs)
  const holder = options.holder ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`

  let running: Promise<void> | null = null
  let stopping = false
  let deadline = Number.POSITIVE_INFINITY
  const stopped = new AbortController()
  let wake: (() => void) | null = null
  let holding = false
  let failures = 0
  let lastError: string | null = null
  let lastDeliveredAt: Date | null = null
  /** Sent and acknowledged, not yet deleted: deleted before anything new is sent. */
  let acknowledged: number[] | null = null

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        wake = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      timer.unref()
      wake = done
    })

  const backoff = (attempt: number) => {
    const capped = Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(attempt - 1, 30))
    // ±20 % so instances that failed together do not retry in lockstep.
    return Math.round(capped * (0.8 + Math.random() * 0.4))
  }

  async function send(lines: string[]): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' }
    if (authorization) headers.authorization = authorization
    let response: Response
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: `${lines.join('\n')}\n`,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopped.signal]),
      })
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new Error(`the SIEM did not answer within ${timeoutMs} ms`)
      if (stopped.signal.aborted) throw new Error('stopped while sending')
      throw new Error(`could not reach the SIEM: ${describe(error)}`)
    }
    const text = await response.text().catch(() => '')
    if (response.status < 200 || response.status > 299)
      throw new Error(`the SIEM answered HTTP ${response.status}${text ? `: ${describe(text).slice(0, 200)}` : ''}`)
  }

  /** One step; returns how long to wait before the next (0: at once, there may be more). */
  async function cycle(): Promise<number> {
    try {
      if (acknowledged) {
        await outbox.remove(acknowledged)
        acknowledged = null
      }
      holding = await outbox.acquireLease(LEASE, holder, leaseMs)
      if (!holding) return pollMs
      const batch = await outbox.take(batchSize)
      if (batch.length === 0) return pollMs
      await send(batch.map((entry) => entry.payload))
      acknowledged = batch.map((entry) => entry.seq)
      if (failures > 0) logger.info('audit stream: the SIEM accepts events again', { after_failures: failures })
      failures = 0
      lastError = null
      lastDeliveredAt = new Date()
      observe?.delivered(batch.length)
      await outbox.remove(acknowledged)
      acknowledged = null
      return 0
    } catch (error) {
      failures++
      lastError = describe(error)
      observe?.failed()
      const delay = backoff(failures)
      logger.warn('audit stream: delivery failed; will retry', { error: lastError, attempt: failures, retry_in_ms: delay })
      return delay
    }
  }

  async function loop() {
    // The first look waits a poll: the process that just created the stream may still be migrating.
    await pause(pollMs)
    for (;;) {
      if (stopping && Date.now() >= deadline) break
      const wait = await cycle()
      if (stopping) {
        // Draining for shutdown: keep going only while batches go through.
        if (wait > 0) break
        continue
      }
      if (wait > 0) await pause(wait)
    }
  }

  return {
    start() {
      if (running || stopping) return
      running = loop().catch((error) => logger.error('audit stream stopped unexpectedly', { error: describe(error) }))
    },
    async stop(graceMs = 0) {
      if (stopping) return
      stopping = true
      deadline = Date.now() + graceMs
      const abort = setTimeout(() => stopped.abort(), graceMs)
      wake?.()
      await running
      clearTimeout(abort)
      if (holding)
        await outbox.releaseLease(LEASE, holder).catch((error) => logger.warn('audit stream: could not give up its lease', { error: describe(error) }))
      holding = false
    },
    async status() {
      const { count, oldestAt } = await outbox.backlog()
      const oldestAgeMs = oldestAt ? Math.max(0, Date.now() - oldestAt.getTime()) : null
      return { backlog: count, oldestAgeMs, draining: holding, lastError, lastDeliveredAt, lagging: oldestAgeMs !== null && oldestAgeMs > maxLagMs }
    },
  }
}

/**
 * The `audit_stream` readiness component: optional, so a SIEM that is down (or
 * an outbox whose oldest event is older than AUDIT_STREAM_MAX_LAG_MS) makes
 * /readyz "degraded", never "fail".
 * @example
 * readiness: { ...(auditStream ? auditStreamReadiness(auditStream) : {}) }
 */
export function auditStreamReadiness(stream: AuditStream): Record<string, ComponentCheck> {
  return {
    audit_stream: {
      required: false,
      check: async () => {
        const status = await stream.status()
        const details = {
          backlog: status.backlog,
          oldest_age_ms: status.oldestAgeMs,
          draining_here: status.draining,
          last_error: status.lastError,
          last_delivered_at: status.lastDeliveredAt?.toISOString() ?? null,
        }
        if (status.lagging)
          throw new Error(
            `${status.backlog} audit event(s) wait for the SIEM, the oldest for ${Math.round(status.oldestAgeMs! / 1000)} s` +
              (status.lastError ? `; last error: ${status.lastError}` : status.draining ? '' : '; another instance drains the outbox'),
          )
        return details
      },
    },
  }
}
