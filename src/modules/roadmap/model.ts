/** Request and response schemas of the roadmap API; types are derived from them. */
import { t, type Static } from 'elysia'
import { PageQuery } from '../../pagination'
import { PHASES } from './store'

export const ROADMAP_STATUSES = ['planned', 'in_progress', 'shipped', 'dropped'] as const
export type RoadmapStatus = (typeof ROADMAP_STATUSES)[number]
export const MOVES = ['up', 'down', 'top', 'bottom'] as const
export type Move = (typeof MOVES)[number]

/**
 * One of the values, for request fields. (Not t.UnionEnum: Elysia fills a missing
 * UnionEnum with its first value, which would turn a PATCH of the title into a
 * move to "now", or accept a create without a phase.)
 */
export const oneOf = <V extends string>(values: readonly V[], options: { description?: string } = {}) =>
  t.Union(
    values.map((value) => t.Literal(value)),
    options,
  )

export const TITLE_MAX = 200
export const DESCRIPTION_MAX = 20_000

const LinkedTicketView = t.Object({
  id: t.String(),
  title: t.String(),
  status: t.String(),
  kind: t.String(),
})

export const RoadmapItemView = t.Object({
  id: t.String(),
  title: t.String(),
  description: t.String({ description: 'Markdown' }),
  description_html: t.String({ description: 'The description rendered and sanitised' }),
  phase: t.UnionEnum(PHASES),
  status: t.UnionEnum(ROADMAP_STATUSES),
  position: t.Integer({ description: 'Place within the phase, from 0' }),
  created_by: t.Nullable(t.String({ description: 'User id; null for the items seeded on first start' })),
  created_at: t.String({ description: 'ISO 8601 date-time' }),
  updated_by: t.Nullable(t.String()),
  updated_at: t.String({ description: 'ISO 8601 date-time' }),
  tickets: t.Array(LinkedTicketView, { description: 'The tickets linked to the item that the caller may see' }),
})

export const RoadmapQuery = t.Object({
  ...PageQuery.properties,
  phase: t.Optional(oneOf(PHASES)),
  status: t.Optional(oneOf(ROADMAP_STATUSES)),
  q: t.Optional(t.String({ maxLength: 200, description: 'Part of the title or description, case-insensitive' })),
})

export const CreateRoadmapBody = t.Object({
  title: t.String({ maxLength: TITLE_MAX }),
  description: t.Optional(t.String({ maxLength: DESCRIPTION_MAX, description: 'Markdown' })),
  phase: oneOf(PHASES),
  status: t.Optional(oneOf(ROADMAP_STATUSES, { description: 'Default planned' })),
  position: t.Optional(t.Integer({ minimum: 0, description: 'Place within the phase; default last' })),
})

export const UpdateRoadmapBody = t.Object({
  title: t.Optional(t.String({ maxLength: TITLE_MAX })),
  description: t.Optional(t.String({ maxLength: DESCRIPTION_MAX })),
  phase: t.Optional(oneOf(PHASES, { description: 'Moving to another phase puts the item last there unless position is given' })),
  status: t.Optional(oneOf(ROADMAP_STATUSES)),
  move: t.Optional(oneOf(MOVES, { description: 'One place up or down, or to the top or bottom of its phase' })),
  position: t.Optional(t.Integer({ minimum: 0, description: 'Place within the phase (0 is the top); beyond the end means last' })),
})

export type RoadmapItemViewType = Static<typeof RoadmapItemView>
