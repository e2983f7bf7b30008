/**
 * One audit event as JSON: the fields of GET /api/admin/audit, and the line a
 * SIEM receives (AUDIT_STREAM_URL), so both readers see the same record.
 * `id` is the event's own UUIDv7: a SIEM deduplicates on it.
 */
import type { AuditEventRow } from '../../db/schema'

export interface AuditEventJson {
  id: string
  at: string
  actor: string | null
  actor_id: string | null
  role: string | null
  action: string
  target: string | null
  session_id: string | null
  job_id: string | null
  request_id: string | null
  ip: string | null
  metadata: Record<string, unknown> | null
}

export const toAuditJson = (row: AuditEventRow): AuditEventJson => ({
  id: row.id,
  at: row.at.toISOString(),
  actor: row.actor,
  actor_id: row.actorId,
  role: row.role,
  action: row.action,
  target: row.target,
  session_id: row.sessionId,
  job_id: row.jobId,
  request_id: row.requestId,
  ip: row.ip,
  metadata: row.metadata ?? null,
})

/** The event as one line of JSON lines (no newline inside: JSON.stringify escapes them). */
export const auditLine = (row: AuditEventRow): string => JSON.stringify(toAuditJson(row))
