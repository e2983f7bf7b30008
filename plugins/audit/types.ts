/**
 * The audit trail's storage contract (SPEC §5: append-only). One suite,
 * tests/unit/audit-store.contract.ts, runs against both implementations.
 */
import type { AuditEventRow } from '../../db/schema'

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

export interface AuditStore {
  /** Appends events; bound to a transaction (Stores.transaction), they commit or roll back with it. */
  append(rows: readonly AuditEventRow[]): Promise<void>
  /** Deletes up to `limit` events recorded before `before`; returns how many went. */
  deleteBefore(before: Date, limit: number): Promise<number>
}
