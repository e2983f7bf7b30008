/**
 * Reading the audit trail: filtered, newest first, keyset-paginated by the
 * one pagination helper, and exported as CSV. The trail is append-only: this
 * module only reads it (retention's purge lives in the audit service).
 */
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm'
import { isId, type Database } from '../../../db/client'
import { unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { AuditEventViewType, AuditFilterInput } from './model'
import { containsPattern, escapeLike } from './role-bindings'

/** At most this many rows per CSV export; X-Export-Truncated says when more matched. */
export const EXPORT_MAX_ROWS = 10_000

export interface AuditFilters {
  since?: Date
  until?: Date
  actor?: string
  action?: string
  target?: string
  requestId?: string
}

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid query field "${field}": ${message}.`, [{ field, message }])

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/** An ISO 8601 date or date-time; without an offset it is read as UTC (the trail's timestamps are UTC). */
export function parseInstant(field: string, raw: string): Date {
  const value = raw.trim()
  const match = INSTANT.exec(value)
  if (!match) throw invalid(field, `expected an ISO 8601 date or date-time such as 2025-01-31 or 2025-01-31T09:30:00Z (got "${value.slice(0, 40)}")`)
  const [, year, month, day, hour, , , zone] = match
  const iso = hour === undefined ? `${year}-${month}-${day}T00:00:00Z` : zone ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`
  const date = new Date(iso)
  // 2025-02-30 parses in some engines by rolling over; a date that does not round-trip is not a date.
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)))
  if (Number.isNaN(date.getTime()) || calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day))
    throw invalid(field, `"${value.slice(0, 40)}" is not a real date or time`)
  return date
}

/** The query's filters, checked; a bad value is a 422 naming its field. */
export function parseAuditFilters(query: AuditFilterInput): AuditFilters {
  const text = (value: string | undefined) => (value?.trim() ? value.trim() : undefined)
  const filters: AuditFilters = {
    since: text(query.since) ? parseInstant('since', query.since!) : undefined,
    until: text(query.until) ? parseInstant('until', query.until!) : undefined,
    actor: text(query.actor),
    action: text(query.action),
    target: text(query.target),
    requestId: text(query.request_id),
  }
  if (filters.since && filters.until && filters.since >= filters.until) throw invalid('until', 'must be later than since')
  return filters
}

/** The filters as a query string, for "load more" and export links that keep them. */
export function filterQueryString(filters: AuditFilterInput, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries({ ...filters, ...extra })) if (typeof value === 'string' && value.trim()) params.set(key, value.trim())
  return params.toString()
}

/** RFC 4180 quoting, and a leading quote on cells a spreadsheet would run as a formula (CSV injection). */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export const CSV_COLUMNS = ['id', 'at', 'actor', 'actor_id', 'role', 'action', 'target', 'session_id', 'job_id', 'request_id', 'ip', 'metadata'] as const

type AuditRow = typeof import('../../../db/schema/sqlite').auditEvents.$inferSelect

export const toAuditView = (row: AuditRow): AuditEventViewType => ({
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

/**
 * @example
 * const trail = createAuditTrail({ db })
 * const page = await trail.list(parseAuditFilters(query), pageParams(query))
 */
export function createAuditTrail({ db }: { db: Database }) {
  const { auditEvents } = db.t

  /** Exact match, or a prefix when the value ends in `*` (LIKE's own wildcards in it taken literally). */
  const exactOrPrefix = (column: typeof auditEvents.action | typeof auditEvents.target, value: string) =>
    value.endsWith('*') ? sql`${column} like ${`${escapeLike(value.slice(0, -1))}%`} escape '\\'` : eq(column, value)

  const whereOf = (filters: AuditFilters, after: string | null) => {
    const conditions: SQL[] = []
    if (filters.since) conditions.push(gte(auditEvents.at, filters.since))
    if (filters.until) conditions.push(lt(auditEvents.at, filters.until))
    if (filters.actor)
      conditions.push(
        isId(filters.actor)
          ? eq(auditEvents.actorId, filters.actor)
          : sql`lower(${auditEvents.actor}) like ${containsPattern(filters.actor)} escape '\\'`,
      )
    if (filters.action) conditions.push(exactOrPrefix(auditEvents.action, filters.action))
    if (filters.target) conditions.push(exactOrPrefix(auditEvents.target, filters.target))
    if (filters.requestId) conditions.push(eq(auditEvents.requestId, filters.requestId))
    if (after) conditions.push(lt(auditEvents.id, after))
    return and(...conditions)
  }

  return {
    /** Newest first (ids are time-ordered UUIDv7). */
    async list(filters: AuditFilters, params: PageParams): Promise<Page<AuditEventViewType>> {
      const rows = await db.orm
        .select()
        .from(auditEvents)
        .where(whereOf(filters, params.after))
        .orderBy(desc(auditEvents.id))
        .limit(params.limit + 1)
      return toPage(rows, params, toAuditView)
    },

    /** The CSV text (header row first) of up to EXPORT_MAX_ROWS matching events, newest first. */
    async exportCsv(filters: AuditFilters): Promise<{ csv: string; rows: number; truncated: boolean }> {
      const rows = await db.orm
        .select()
        .from(auditEvents)
        .where(whereOf(filters, null))
        .orderBy(desc(auditEvents.id))
        .limit(EXPORT_MAX_ROWS + 1)
      const truncated = rows.length > EXPORT_MAX_ROWS
      const kept = truncated ? rows.slice(0, EXPORT_MAX_ROWS) : rows
      const lines = [CSV_COLUMNS.join(',')]
      for (const row of kept) {
        const view = toAuditView(row)
        lines.push(CSV_COLUMNS.map((column) => csvCell(view[column])).join(','))
      }
      return { csv: `${lines.join('\r\n')}\r\n`, rows: kept.length, truncated }
    },
  }
}

export type AuditTrail = ReturnType<typeof createAuditTrail>
