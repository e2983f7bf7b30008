/** The audit store on PostgreSQL. */
import { inArray, lt, sql } from 'drizzle-orm'
import type { PgExec } from '../../db/client'
import { auditEvents } from '../../db/schema/pg'
import type { AuditStore } from './types'

export function createPgAuditStore(db: PgExec): AuditStore {
  return {
    /**
     * Read events arrive thousands a second on a busy server. A batch goes in as
     * one JSON parameter through json_to_recordset: building a 200-row drizzle
     * insert held the event loop for milliseconds, and twelve array parameters
     * still cost pg's per-element escaping; JSON.stringify is native
     * (docs/PERFORMANCE.md). A single event takes the builder.
     */
    async append(rows) {
      if (rows.length === 0) return
      if (rows.length === 1) {
        await db.insert(auditEvents).values(rows[0]!)
        return
      }
      const json = JSON.stringify(
        rows.map((r) => ({
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
      await db.execute(sql`
        insert into audit_events (id, at, actor_id, actor, role, action, target, session_id, job_id, request_id, ip, metadata)
        select id, at, actor_id, actor, role, action, target, session_id, job_id, request_id, ip, metadata
        from json_to_recordset(${json}::json) as r(id text, at timestamptz, actor_id text, actor text, role text, action text,
          target text, session_id text, job_id text, request_id text, ip text, metadata jsonb)`)
    },
    async deleteBefore(before, limit) {
      const batch = db.select({ id: auditEvents.id }).from(auditEvents).where(lt(auditEvents.at, before)).limit(limit)
      const gone = await db.delete(auditEvents).where(inArray(auditEvents.id, batch)).returning({ id: auditEvents.id })
      return gone.length
    },
  }
}
