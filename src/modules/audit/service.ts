/**
 * The append-only audit trail (SPEC §5). `record` writes one event, inside the
 * caller's transaction when given one, so a change and its event land together.
 * `recordLater` queues high-volume read events and writes them in batches;
 * `flush` (called on shutdown) writes whatever is queued, so none is lost.
 */
import { inArray, lt, sql } from 'drizzle-orm'
import { executePg, newId, type Database, type Executor } from '../../../db/client'
import type { Logger } from '../../../plugins/logging/logger'

export interface AuditEvent {
  action: string
  actorId?: string | null
  actor?: string | null
  role?: string | null
  target?: string | null
  sessionId?: string | null
  jobId?: string | null
  requestId?: string | null
  ip?: string | null
  metadata?: Record<string, unknown>
}

/** Metadata keys whose values never reach the trail. */
const REDACTED_KEY = /(pass(word)?|secret|token|authorization|cookie|api[_-]?key|proof|signature|content|text)$/i

export function redactMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!metadata) return null
  return Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [key, REDACTED_KEY.test(key) ? '[redacted]' : value]),
  )
}

export interface AuditLog {
  record(event: AuditEvent, tx?: Executor): Promise<void>
  recordLater(event: AuditEvent): void
  flush(): Promise<void>
  close(): Promise<void>
}

const toRow = (event: AuditEvent, at = new Date()) => ({
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
  metadata: redactMetadata(event.metadata),
})

/**
 * @example
 * const audit = createAuditLog({ db, logger })
 * await db.orm.transaction(async (tx) => { ...; await audit.record({ action: 'session.create' }, tx) })
 */
export function createAuditLog({
  db,
  logger,
  batchSize = 500,
  flushEveryMs = 200,
}: {
  db: Database
  logger: Logger
  batchSize?: number
  flushEveryMs?: number
}): AuditLog {
  let queue: ReturnType<typeof toRow>[] = []
  /** Writes are one chain, as in the job-log writer: flush() resolves once everything queued before it was written (or put back after a failure). */
  let writing: Promise<void> = Promise.resolve()

  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      if (queue.length === 0) return
      const batch = queue
      queue = []
      try {
        await insertBatch(batch)
      } catch (error) {
        // Put the batch back so the next flush retries it; log so an operator sees the backlog.
        queue = batch.concat(queue)
        logger.error('audit batch write failed; will retry', { error: (error as Error).message, events: batch.length })
      }
    })
    return writing
  }

  /**
   * Read events arrive thousands a second on a busy server. On PostgreSQL a
   * batch goes in as one JSON parameter through json_to_recordset: building a
   * 200-row drizzle insert held the event loop for milliseconds, and twelve
   * array parameters still cost pg's per-element escaping; JSON.stringify is
   * native (docs/PERFORMANCE.md).
   */
  const insertBatch = async (batch: ReturnType<typeof toRow>[]): Promise<void> => {
    if (db.dialect !== 'pg') {
      await db.orm.insert(db.t.auditEvents).values(batch)
      return
    }
    const rows = JSON.stringify(
      batch.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        actor_id: r.actorId,
        actor: r.actor,
        role: r.role,
        action: r.action,
        target: r.target,
        session_id: r.sessionId,
        job_id: r.jobId,
        request_id: r.requestId,
        ip: r.ip,
        metadata: r.metadata,
      })),
    )
    await executePg(db, sql`
      insert into audit_events (id, at, actor_id, actor, role, action, target, session_id, job_id, request_id, ip, metadata)
      select id, at, actor_id, actor, role, action, target, session_id, job_id, request_id, ip, metadata
      from json_to_recordset(${rows}::json) as r(id text, at timestamptz, actor_id text, actor text, role text, action text,
        target text, session_id text, job_id text, request_id text, ip text, metadata jsonb)`)
  }

  const timer = setInterval(() => void flush(), flushEveryMs)
  timer.unref()

  return {
    async record(event, tx) {
      await (tx ?? db.orm).insert(db.t.auditEvents).values(toRow(event))
    },
    recordLater(event) {
      queue.push(toRow(event))
      // Once per batch: pushes while that write is in flight join the next one (or the timer's).
      if (queue.length === batchSize) void flush()
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}

/**
 * Retention (SPEC §5): deletes the audit events recorded before `olderThan`,
 * in batches so no single statement holds a long lock, and leaves one
 * `audit.purge` event saying how many went and up to when. This is the only
 * deletion the trail knows; no route updates or deletes an event.
 * The cut-off comes from AUDIT_RETENTION_DAYS (config.retention.auditDays);
 * the scheduled retention job that calls this arrives with the retention
 * issue — until then an operator can call it from a script.
 * @example
 * const deleted = await purgeAuditEvents(db, new Date(Date.now() - config.retention.auditDays * 86_400_000))
 */
export async function purgeAuditEvents(db: Database, olderThan: Date, { batchSize = 5000 } = {}): Promise<number> {
  if (Number.isNaN(olderThan.getTime())) throw new Error('purgeAuditEvents: olderThan is not a valid date')
  const { auditEvents } = db.t
  let deleted = 0
  for (;;) {
    const batch = db.orm.select({ id: auditEvents.id }).from(auditEvents).where(lt(auditEvents.at, olderThan)).limit(batchSize)
    const gone = await db.orm.delete(auditEvents).where(inArray(auditEvents.id, batch)).returning({ id: auditEvents.id })
    deleted += gone.length
    if (gone.length < batchSize) break
  }
  if (deleted > 0)
    await db.orm
      .insert(auditEvents)
      .values(toRow({ action: 'audit.purge', actor: 'retention', metadata: { older_than: olderThan.toISOString(), deleted } }))
  return deleted
}
