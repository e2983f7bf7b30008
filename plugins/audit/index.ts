/**
 * The append-only audit trail (SPEC §5). `record` writes one event — inside the
 * caller's transaction when given one, so a change and its event land together.
 * `recordLater` queues high-volume read events and writes them in batches;
 * `flush` (called on shutdown) writes whatever is queued, so none is lost.
 * Where events are kept is the store's business (plugins/audit/types.ts). With
 * `stream` (AUDIT_STREAM_URL), every write also fills the outbox that
 * plugins/audit/stream.ts drains to the SIEM.
 */
import { newId } from '../../db/client'
import type { AuditEventRow } from '../../db/schema'
import type { Logger } from '../logging/logger'
import type { AuditEvent, AuditWriter } from './types'

export type { AuditEvent,  AuditQuery, AuditStore,  AuditWriter, TextMatch } from './types'
export { pseudonymiseEvent } from './pseudonymise'
export { toAuditJson, type AuditEventJson } from './json'
export { auditStreamReadiness, createAuditStream, type AuditStream, type AuditStreamOptions } from './stream'

/** Metadata keys whose values never reach the trail. */
const REDACTED_KEY = /(pass(word)?|secret|token|authorization|cookie|api[_-]?key|proof|signature|content|text)$/i

/**
 * Strings as PostgreSQL's jsonb accepts them: a lone surrogate (a token named "\ud800", say)
 * becomes U+FFFD instead of failing the write (found by the fuzz test, issue 14); libsql gets the same.
 */
const wellFormed = (value: unknown, depth = 0): unknown => {
  if (typeof value === 'string') return value.toWellFormed()
  if (depth > 8 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => wellFormed(item, depth + 1))
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.toWellFormed(), wellFormed(item, depth + 1)]))
}

export function redactMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!metadata) return null
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key.toWellFormed(), REDACTED_KEY.test(key) ? '[redacted]' : wellFormed(value)]))
}

export const toAuditRow = (event: AuditEvent, at = new Date()): AuditEventRow => ({
  id: newId(),
  at,
  actorId: event.actorId ?? null,
  actor: event.actor ?? null,
  role: event.role ?? null,
  action: event.action,
  target: event.target ?? null,
  sessionId: event.sessionId ?? null,
  jobId: event.jobId ?? null,
  requestId: event.requestId ?? null,
  ip: event.ip ?? null,
  metadata: redactMetadata(event.clientRequestId ? { ...event.metadata, client_request_id: event.clientRequestId } : event.metadata),
})

export interface AuditLog {
  /** Writes one event now; with `within` (a transaction's stores), as part of that transaction. */
  record(event: AuditEvent, within?: { audit: AuditWriter }): Promise<void>
  /** record() of several events in one write, in the order given (a burst of runs created in one transaction). */
  recordAll(events: readonly AuditEvent[], within?: { audit: AuditWriter }): Promise<void>
  recordLater(event: AuditEvent): void
  flush(): Promise<void>
  /**
   * Retention: deletes the events recorded before `olderThan` in batches (no
   * single statement holds a long lock) and leaves one `audit.purge` event
   * saying how many went and up to when. The only deletion the trail knows.
   */
  purge(olderThan: Date, options?: { batchSize?: number }): Promise<number>
  close(): Promise<void>
}

export interface AuditOptions {
  store: AuditWriter
  logger: Logger
  batchSize?: number
  flushEveryMs?: number
  /** Also put every event in the SIEM outbox (in the same write, so the same transaction). */
  stream?: boolean
}

/**
 * @example
 * const audit = createAuditLog({ store: stores.audit, logger })
 * await stores.transaction(async (tx) => { await tx.sessions.insert(row); await audit.record({ action: 'session.create' }, tx) })
 */
export function createAuditLog({ store, logger, batchSize = 500, flushEveryMs = 200, stream = false }: AuditOptions): AuditLog {
  const options = { stream }
  let queue: AuditEventRow[] = []
  /** Writes are one chain: flush() resolves once everything queued before it was written (or put back after a failure). */
  let writing: Promise<void> = Promise.resolve()

  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      if (queue.length === 0) return
      const batch = queue
      queue = []
      try {
        await store.append(batch, options)
      } catch (error) {
        // Put the batch back so the next flush retries it; log so an operator sees the backlog.
        queue = batch.concat(queue)
        logger.error('audit batch write failed; will retry', { error: (error as Error).message, events: batch.length })
      }
    })
    return writing
  }

  const timer = setInterval(() => void flush(), flushEveryMs)
  timer.unref()

  return {
    async record(event, within) {
      await (within?.audit ?? store).append([toAuditRow(event)], options)
    },
    async recordAll(events, within) {
      if (events.length > 0) await (within?.audit ?? store).append(events.map((event) => toAuditRow(event)), options)
    },
    recordLater(event) {
      queue.push(toAuditRow(event))
      // Once per batch: pushes while that write is in flight join the next one (or the timer's).
      if (queue.length === batchSize) void flush()
    },
    flush,
    async purge(olderThan, { batchSize: purgeBatch = 5000 } = {}) {
      if (Number.isNaN(olderThan.getTime())) throw new Error('audit purge: olderThan is not a valid date')
      let deleted = 0
      for (;;) {
        const gone = await store.deleteBefore(olderThan, purgeBatch)
        deleted += gone
        if (gone < purgeBatch) break
      }
      if (deleted > 0)
        await store.append([toAuditRow({ action: 'audit.purge', actor: 'retention', metadata: { older_than: olderThan.toISOString(), deleted } })], options)
      return deleted
    },
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}
