/** Request and response schemas of the sessions API; types are derived from them. */
import { t, type Static } from 'elysia'

export const SESSION_STATUSES = ['created', 'queued', 'running', 'succeeded', 'failed', 'cancelled'] as const

export const CreateSessionBody = t.Object({
  question: t.String({ description: 'What to ask the council', maxLength: 200_000 }),
  palette_id: t.Optional(t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'Palette; default "default"' })),
  web_search: t.Optional(
    t.Union([t.Boolean(), t.String({ maxLength: 8 })], {
      description: 'Search the web once for the question before drafting (403 web_search_disabled when the server forbids it)',
    }),
  ),
  _csrf: t.Optional(t.String()),
})

export const SessionSummary = t.Object({
  id: t.String(),
  question: t.String(),
  palette_id: t.String(),
  status: t.UnionEnum(SESSION_STATUSES),
  stage: t.Nullable(t.String()),
  partial: t.Boolean(),
  tokens: t.Object({ input: t.Integer(), output: t.Integer(), total: t.Integer() }),
  cost_usd: t.Number(),
  documents: t.Array(
    t.Object({
      id: t.String(),
      filename: t.String(),
      content_type: t.String(),
      bytes: t.Integer(),
      status: t.UnionEnum(['pending', 'extracting', 'extracted', 'failed']),
      pages: t.Nullable(t.Integer()),
      error: t.Nullable(t.String()),
    }),
  ),
  error: t.Nullable(t.String()),
  // ISO 8601 timestamps. Not declared as format: 'date-time': Elysia checks response formats
  // with a regex per field, which cost lists of 25–200 items more than the query (docs/PERFORMANCE.md).
  created_at: t.String({ description: 'ISO 8601 date-time' }),
  updated_at: t.String({ description: 'ISO 8601 date-time' }),
})

export const DeleteSessionQuery = t.Object({
  hard: t.Optional(t.BooleanString({ description: 'Erase instead of soft delete (admins only)' })),
})

export type CreateSessionInput = Static<typeof CreateSessionBody>
export type SessionSummaryView = Static<typeof SessionSummary>
export type SessionStatus = (typeof SESSION_STATUSES)[number]
