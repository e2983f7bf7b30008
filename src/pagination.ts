/**
 * The one pagination helper for every list route: `limit` defaults to 25 and
 * is clamped to 200; `cursor` is opaque (the base64url of the last id seen,
 * ids being time-ordered UUIDv7). Lists answer {items, next_cursor, limit}.
 */
import { t } from 'elysia'
import { badRequest, unprocessable } from './errors'

export const DEFAULT_LIMIT = 25
export const MAX_LIMIT = 200

export const PageQuery = t.Object({
  limit: t.Optional(t.Numeric({ description: `Page size from 1, default ${DEFAULT_LIMIT}; values above ${MAX_LIMIT} are clamped` })),
  cursor: t.Optional(t.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
})

export const pageOf = <T extends import('@sinclair/typebox').TSchema>(item: T) =>
  t.Object({ items: t.Array(item), next_cursor: t.Nullable(t.String()), limit: t.Integer() })

export interface PageParams {
  limit: number
  /** The last id of the previous page (rows beyond it in the list's order), or null for the first page. */
  after: string | null
}

export interface Page<T> {
  items: T[]
  next_cursor: string | null
  limit: number
}

const CURSOR_ID = /^[0-9a-f-]{36}$/

export function pageParams(query: { limit?: number; cursor?: string }): PageParams {
  const requested = query.limit ?? DEFAULT_LIMIT
  // Checked here rather than in the schema so the message names the field (Elysia's omits it).
  if (!Number.isFinite(requested) || requested < 1)
    throw unprocessable('validation_failed', `Invalid query field "limit": must be a whole number of at least 1 (got ${requested}).`, [
      { field: 'limit', message: 'must be at least 1' },
    ])
  const limit = Math.min(Math.floor(requested), MAX_LIMIT)
  if (!query.cursor) return { limit, after: null }
  const after = Buffer.from(query.cursor, 'base64url').toString()
  if (!CURSOR_ID.test(after))
    throw badRequest('invalid_cursor', 'The cursor is not one this API issued; start again without it.')
  return { limit, after }
}

/**
 * Builds a page from rows fetched with `limit + 1` (the extra row only says a next page exists).
 * @example
 * const rows = await query.limit(params.limit + 1)
 * return toPage(rows, params, toSummary)
 */
export function toPage<Row extends { id: string }, Item>(rows: Row[], params: PageParams, map: (row: Row) => Item): Page<Item> {
  const hasMore = rows.length > params.limit
  const kept = hasMore ? rows.slice(0, params.limit) : rows
  const last = kept[kept.length - 1]
  return {
    items: kept.map(map),
    next_cursor: hasMore && last ? Buffer.from(last.id).toString('base64url') : null,
    limit: params.limit,
  }
}
