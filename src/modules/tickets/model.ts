/** Request and response schemas of the tickets API; types are derived from them. */
import { t, type Static } from 'elysia'
import { PageQuery } from '../../pagination'
import { oneOf } from '../roadmap/model'

export const KINDS = ['bug', 'feature', 'question'] as const
export const STATUSES = ['open', 'triaged', 'in_progress', 'done', 'wontfix'] as const
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export type Kind = (typeof KINDS)[number]
export type Status = (typeof STATUSES)[number]
export type Priority = (typeof PRIORITIES)[number]

export const TITLE_MAX = 200
export const BODY_MAX = 20_000
export const COMMENT_MAX = 10_000

const Time = t.String({ description: 'ISO 8601 date-time (UTC)' })

export const TicketSummary = t.Object({
  id: t.String(),
  title: t.String(),
  kind: t.UnionEnum(KINDS),
  status: t.UnionEnum(STATUSES),
  priority: t.UnionEnum(PRIORITIES),
  public: t.Boolean({ description: 'Visible to every member; otherwise to its author and triagers only' }),
  roadmap_item_id: t.Nullable(t.String()),
  created_by: t.String({ description: 'User id of the author' }),
  author: t.Nullable(t.String({ description: 'Email of the author' })),
  created_at: Time,
  updated_at: Time,
})

export const CommentView = t.Object({
  id: t.String(),
  ticket_id: t.String(),
  author_id: t.String(),
  author: t.Nullable(t.String()),
  body: t.String({ description: 'Markdown' }),
  body_html: t.String({ description: 'The body rendered and sanitised' }),
  created_at: Time,
})

export const CommentsPage = t.Object({ items: t.Array(CommentView), next_cursor: t.Nullable(t.String()), limit: t.Integer() })

export const TicketDetail = t.Composite([
  TicketSummary,
  t.Object({
    body: t.String({ description: 'Markdown' }),
    body_html: t.String({ description: 'The body rendered and sanitised' }),
    updated_by: t.Nullable(t.String()),
    roadmap_item: t.Nullable(t.Object({ id: t.String(), title: t.String(), phase: t.String() })),
    editable: t.Boolean({ description: 'Whether the caller may edit the title and body now' }),
    comments: t.Composite([CommentsPage], { description: 'The first comments, oldest first; GET /api/v1/tickets/:id/comments pages on' }),
  }),
])

export const TicketsQuery = t.Object({
  ...PageQuery.properties,
  status: t.Optional(oneOf(STATUSES)),
  kind: t.Optional(oneOf(KINDS)),
  mine: t.Optional(t.BooleanString({ description: 'Only the tickets the caller filed' })),
  roadmap_item_id: t.Optional(t.String({ maxLength: 64, description: 'Only the tickets linked to this roadmap item' })),
})

export const CreateTicketBody = t.Object({
  title: t.String({ maxLength: TITLE_MAX }),
  body: t.String({ maxLength: BODY_MAX, description: 'Markdown' }),
  kind: oneOf(KINDS),
})

export const UpdateTicketBody = t.Object({
  title: t.Optional(t.String({ maxLength: TITLE_MAX, description: 'Author while open, or triagers' })),
  body: t.Optional(t.String({ maxLength: BODY_MAX, description: 'Author while open, or triagers' })),
  status: t.Optional(oneOf(STATUSES, { description: 'Triagers only' })),
  priority: t.Optional(oneOf(PRIORITIES, { description: 'Triagers only' })),
  public: t.Optional(t.Boolean({ description: 'Triagers only' })),
  roadmap_item_id: t.Optional(t.Nullable(t.String({ maxLength: 64, description: 'Triagers only; null unlinks' }))),
})

export const CommentBody = t.Object({ body: t.String({ maxLength: COMMENT_MAX, description: 'Markdown' }) })

export type TicketSummaryView = Static<typeof TicketSummary>
export type TicketDetailView = Static<typeof TicketDetail>
export type CommentViewType = Static<typeof CommentView>
export type UpdateTicketInput = Static<typeof UpdateTicketBody>
