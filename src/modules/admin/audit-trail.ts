/**
 * Reading the audit trail: filtered, newest first, keyset-paginated by the
 * one pagination helper, and exported as CSV. The trail is append-only: this
 * module only reads it, through the audit store (plugins/audit), which holds
 * the SQL; retention's purge lives in the audit log.
 */
import { isId } from '../../../db/client'
import { toAuditJson, type AuditQuery, type AuditStore, type TextMatch } from '../../../plugins/audit'
import { unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { AuditEventViewType, AuditFilterInput } from './model'

/** At most this many rows per CSV export; X-Export-Truncated says when more matched. */
const EXPORT_MAX_ROWS = 10_000

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
function parseInstant(field: string, raw: string): Date {
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
function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value)
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

const CSV_COLUMNS = ['id', 'at', 'actor', 'actor_id', 'role', 'action', 'target', 'session_id', 'job_id', 'request_id', 'ip', 'metadata'] as const

/** `value*` is a prefix, anything else an exact value. */
const textMatch = (value: string): TextMatch => (value.endsWith('*') ? { prefix: value.slice(0, -1) } : { equals: value })

/** The checked filters as the store's query: an actor that is an id matches actor_id, anything else part of the email. */
const toAuditQuery = (filters: AuditFilters, before: string | null, limit: number): AuditQuery => ({
  since: filters.since,
  until: filters.until,
  ...(filters.actor ? (isId(filters.actor) ? { actorId: filters.actor } : { actorContains: filters.actor }) : {}),
  action: filters.action ? textMatch(filters.action) : undefined,
  target: filters.target ? textMatch(filters.target) : undefined,
  requestId: filters.requestId,
  before,
  limit,
})

/**
 * @example
 * const trail = createAuditTrail({ store: stores.audit })
 * const page = await trail.list(parseAuditFilters(query), pageParams(query))
 */
export function createAuditTrail({ store }: { store: Pick<AuditStore, 'list'> }) {
  return {
    /** Newest first (ids are time-ordered UUIDv7). */
    async list(filters: AuditFilters, params: PageParams): Promise<Page<AuditEventViewType>> {
      const rows = await store.list(toAuditQuery(filters, params.after, params.limit + 1))
      return toPage(rows, params, toAuditJson)
    },

    /** The CSV text (header row first) of up to EXPORT_MAX_ROWS matching events, newest first. */
    async exportCsv(filters: AuditFilters): Promise<{ csv: string; rows: number; truncated: boolean }> {
      const rows = await store.list(toAuditQuery(filters, null, EXPORT_MAX_ROWS + 1))
      const truncated = rows.length > EXPORT_MAX_ROWS
      const kept = truncated ? rows.slice(0, EXPORT_MAX_ROWS) : rows
      const lines = [CSV_COLUMNS.join(',')]
      for (const row of kept) {
        const view = toAuditJson(row)
        lines.push(CSV_COLUMNS.map((column) => csvCell(view[column])).join(','))
      }
      return { csv: `${lines.join('\r\n')}\r\n`, rows: kept.length, truncated }
    },
  }
}

type AuditTrail = ReturnType<typeof createAuditTrail>
