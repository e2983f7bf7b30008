/** Shared by the audit trail suites (audit.test.ts, audit-export.test.ts): seeding, reading back, CSV parsing. */
import { and, eq, isNull } from 'drizzle-orm'
import type { TestApp } from '../helpers/app'

export const ADMIN = 'audit-boss@example.com'
export const EVENT_KEYS = ['action', 'actor', 'actor_id', 'at', 'id', 'ip', 'job_id', 'metadata', 'request_id', 'role', 'session_id', 'target'].sort()
export const CSV_HEADER = 'id,at,actor,actor_id,role,action,target,session_id,job_id,request_id,ip,metadata'
export const MINUTE = 60_000
export const DAY = 86_400_000

type SeedRow = {
  action: string
  at: Date
  actor?: string | null
  actorId?: string | null
  role?: string | null
  target?: string | null
  sessionId?: string | null
  jobId?: string | null
  requestId?: string | null
  ip?: string | null
  metadata?: Record<string, unknown> | null
}

let tagCounter = 0
/** A unique action family per test, so tests sharing an app never see each other's events. */
export const uniqueTag = (label: string) => `test.${label}${Date.now().toString(36)}${++tagCounter}`

/** Writes events straight into the trail through its store, with ids time-ordered like the app's own (UUIDv7 of `at`). */
export async function seed(t: TestApp, rows: SeedRow[]): Promise<string[]> {
  const values = rows.map((row) => ({
    id: Bun.randomUUIDv7('hex', row.at),
    actorId: null,
    actor: null,
    role: null,
    target: null,
    sessionId: null,
    jobId: null,
    requestId: null,
    ip: null,
    metadata: null,
    ...row,
  }))
  for (let i = 0; i < values.length; i += 500) await t.deps.stores.audit.append(values.slice(i, i + 500))
  return values.map((value) => value.id)
}

/** The stored events of one action and request, once the queued ones are written. */
export const eventsOf = async (t: TestApp, action: string, requestId: string) => {
  await t.deps.audit.flush()
  return t.deps.stores.audit.list({ action: { equals: action }, requestId, limit: 1000 })
}

/**
 * Ids of the events of `action` whose metadata is SQL NULL rather than the JSON
 * value null (the drivers read both as null, and no store call tells them apart).
 */
export async function sqlNullMetadata(t: TestApp, action: string): Promise<string[]> {
  const { handle } = t.deps.db
  const rows =
    handle.dialect === 'pg'
      ? await handle.orm.select({ id: handle.t.auditEvents.id }).from(handle.t.auditEvents).where(and(eq(handle.t.auditEvents.action, action), isNull(handle.t.auditEvents.metadata)))
      : await handle.orm.select({ id: handle.t.auditEvents.id }).from(handle.t.auditEvents).where(and(eq(handle.t.auditEvents.action, action), isNull(handle.t.auditEvents.metadata)))
  return rows.map((row) => row.id)
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF), enough to read the export back. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') row.push(cell), (cell = '')
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++
    } else cell += c
  }
  if (cell || row.length) row.push(cell), rows.push(row)
  return rows
}
