/**
 * The audit trail's storage contract (SPEC §5: append-only). One suite,
 * tests/unit/stores/audit-store.test.ts, runs against both implementations.
 */
import type { AuditEventRow, AuditOutboxRow } from '../../db/schema'

export interface AuditEvent {
  action: string
  actorId?: string | null
  actor?: string | null
  role?: string | null
  target?: string | null
  sessionId?: string | null
  jobId?: string | null
  requestId?: string | null
  /** The client's own X-Request-Id: kept beside `requestId` as the metadata's `client_request_id`, never as it. */
  clientRequestId?: string | null
  ip?: string | null
  metadata?: Record<string, unknown>
}

/** An exact value, or every value starting with `prefix` (taken literally, no wildcards). */
export type TextMatch = { equals: string } | { prefix: string }

/** Which events to read, newest first. Every given condition must hold. */
export interface AuditQuery {
  /** Recorded at or after this instant. */
  since?: Date
  /** Recorded before this instant. */
  until?: Date
  /** The actor's user id, exactly. */
  actorId?: string
  /** Part of the actor (an email), case-insensitively. */
  actorContains?: string
  action?: TextMatch
  target?: TextMatch
  requestId?: string
  /** Keyset pagination: only events with ids below this one (the last id of the previous page). */
  before?: string | null
  limit: number
}

/** What the audit log writes through; a transaction's `tx.audit` is one. */
export interface AuditWriter {
  /**
   * Appends events; bound to a transaction (Stores.transaction), they commit or roll back with it.
   * With `stream`, each event's JSON line also goes into the outbox, atomically with the event.
   */
  append(rows: readonly AuditEventRow[], options?: { stream?: boolean }): Promise<void>
  /** Deletes up to `limit` events recorded before `before`; returns how many went. */
  deleteBefore(before: Date, limit: number): Promise<number>
}

/**
 * The events waiting for the SIEM, oldest first, and the lease that lets one
 * process at a time drain them (plugins/audit/stream.ts).
 */
export interface AuditOutbox {
  /** Up to `limit` entries in delivery order (ascending `seq`). */
  take(limit: number): Promise<AuditOutboxRow[]>
  /** Removes delivered entries by `seq`; entries already gone are ignored. */
  remove(seqs: readonly number[]): Promise<void>
  /** How many entries wait, and when the oldest was written (null when none). */
  backlog(): Promise<{ count: number; oldestAt: Date | null }>
  /**
   * Takes or renews the lease `name` for `holder` until `ttlMs` from now; true when
   * `holder` has it, false while another holder's lease has not expired.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>
  /** Gives the lease up, if `holder` has it, so another process can take over at once. */
  releaseLease(name: string, holder: string): Promise<void>
}

/** A person whose events an erasure pseudonymises. */
export interface AuditSubject {
  userId: string
  email: string
}

export interface AuditStore extends AuditWriter {
  /** The events matching `query`, newest first (ids are time-ordered), at most `query.limit`. */
  list(query: AuditQuery): Promise<AuditEventRow[]>
  /**
   * Events naming `subject` anywhere: as actor (id or email), in the target, or
   * inside the metadata; oldest first, up to `limit` with ids above `after`.
   */
  mentioning(subject: AuditSubject, after: string | null, limit: number): Promise<AuditEventRow[]>
  /**
   * Erasure only: overwrites these events' actor, actor id, target, ip and
   * metadata with the values given (matched by id), and the SIEM outbox lines
   * still waiting for them, so a pseudonymised event is never delivered unpseudonymised.
   */
  rewrite(rows: readonly AuditEventRow[]): Promise<void>
  outbox: AuditOutbox
}
