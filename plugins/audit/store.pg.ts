/** The audit store on PostgreSQL: the shared queries (./store.portable.ts), batched appends and the lease on the database's clock. */
import { sql } from 'drizzle-orm'
import type { PgExec } from '../../db/client'
import { pgPortable } from '../../db/portable'
import type { AuditEventRow } from '../../db/schema'
import { auditEvents, auditOutboxLease } from '../../db/schema/pg'
import { auditLine } from './json'
import { auditQueries } from './store.portable'
import type { AuditStore } from './types'

/**
 * The rows as one JSON parameter for json_to_recordset; with `stream`, `n` keeps
 * their order and `payload` is the outbox line (absent keys read as null).
 */
const recordset = (rows: readonly AuditEventRow[], stream: boolean) =>
  JSON.stringify(
    rows.map((r, n) => ({
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
      ...(stream ? { n, payload: auditLine(r) } : {}),
    })),
  )

const RECORD = sql.raw(`r(n int, id text, at timestamptz, actor_id text, actor text, role text, action text, target text,
  session_id text, job_id text, request_id text, ip text, metadata jsonb, payload text)`)
const COLUMNS = sql.raw('id, at, actor_id, actor, role, action, target, session_id, job_id, request_id, ip, metadata')

export function createPgAuditStore(db: PgExec): AuditStore {
  // jsonb reads as text through a cast, for LIKE.
  const shared = auditQueries(pgPortable(db), (metadata) => sql`${metadata}::text`)
  return {
    ...shared,
    /**
     * Read events arrive thousands a second on a busy server. A batch goes in as
     * one JSON parameter through json_to_recordset: building a 200-row drizzle
     * insert held the event loop for milliseconds, and twelve array parameters
     * still cost pg's per-element escaping; JSON.stringify is native
     * (docs/PERFORMANCE.md). A single event takes the builder. With `stream`,
     * the events and their outbox entries are one statement (so one atomic unit
     * even outside a transaction); the outbox's identity follows the batch order.
     */
    async append(rows, { stream = false } = {}) {
      if (rows.length === 0) return
      if (rows.length === 1 && !stream) {
        await db.insert(auditEvents).values(rows[0]!)
        return
      }
      const json = recordset(rows, stream)
      if (!stream) {
        await db.execute(sql`insert into audit_events (${COLUMNS}) select ${COLUMNS} from json_to_recordset(${json}::json) as ${RECORD}`)
        return
      }
      await db.execute(sql`
        with r as (select * from json_to_recordset(${json}::json) as ${RECORD}),
        e as (insert into audit_events (${COLUMNS}) select ${COLUMNS} from r)
        insert into audit_outbox (event_id, payload, created_at) select id, payload, at from r order by n`)
    },
    outbox: {
      ...shared.outbox,
      async acquireLease(name, holder, ttlMs) {
        // The database's clock, not each instance's: instances whose clocks disagree still agree on expiry.
        const until = sql`now() + ${Math.round(ttlMs)}::integer * interval '1 millisecond'`
        const held = await db
          .insert(auditOutboxLease)
          .values({ name, holder, expiresAt: until })
          .onConflictDoUpdate({
            target: auditOutboxLease.name,
            set: { holder, expiresAt: until },
            setWhere: sql`${auditOutboxLease.holder} = ${holder} or ${auditOutboxLease.expiresAt} < now()`,
          })
          .returning({ holder: auditOutboxLease.holder })
        return held.length === 1
      },
    },
  }
}
