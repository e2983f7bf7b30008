/** Request and response schemas of the status API (SPEC §4); types are derived from them. */
import { t, type Static } from 'elysia'
import { oneOf } from '../roadmap/model'

/** The components the status page reports, in its order, with the names people read. */
export const COMPONENTS = ['api', 'database', 'queue', 'worker', 'storage', 'llm'] as const
export type Component = (typeof COMPONENTS)[number]
export const COMPONENT_LABELS: Record<Component, string> = {
  api: 'API',
  database: 'Database',
  queue: 'Queue',
  worker: 'Worker',
  storage: 'Storage',
  llm: 'LLM provider',
}

export const KINDS = ['incident', 'maintenance'] as const
export type IncidentKind = (typeof KINDS)[number]
export const IMPACTS = ['none', 'minor', 'major', 'critical'] as const
/** The states of each kind, in the only order they move (an update never goes back). */
export const STATES: Record<IncidentKind, readonly string[]> = {
  incident: ['investigating', 'identified', 'monitoring', 'resolved'],
  maintenance: ['scheduled', 'in_progress', 'completed'],
}
const ALL_STATES = [...STATES.incident, ...STATES.maintenance] as const
/** The last state of a kind: the incident is over. */
export const isFinal = (kind: IncidentKind, status: string) => STATES[kind].at(-1) === status

export const TITLE_MAX = 200
export const MESSAGE_MAX = 5000

const HEALTHS = ['ok', 'degraded', 'fail', 'unknown'] as const

const ComponentView = t.Object({
  name: t.String({ description: `One of ${COMPONENTS.join(', ')}` }),
  label: t.String(),
  status: t.UnionEnum(HEALTHS, { description: 'From the newest probe sample; unknown when there is none recent' }),
  checked_at: t.Nullable(t.String({ description: 'When the newest sample was taken (ISO 8601)' })),
  latency_ms: t.Nullable(t.Integer()),
  uptime_24h: t.Nullable(t.Number({ description: 'Percent of the last 24 hours’ samples that found it up (ok or degraded); null without samples' })),
  uptime_90d: t.Nullable(t.Number({ description: 'The same over the last 90 days' })),
  days: t.Array(t.Object({ date: t.String({ description: 'UTC day, YYYY-MM-DD' }), uptime: t.Nullable(t.Number()) }), {
    description: '90 entries, oldest first; uptime null on days without samples',
  }),
})

const UpdateView = t.Object({
  status: t.String(),
  message: t.String(),
  at: t.String({ description: 'ISO 8601 date-time' }),
})

export const IncidentView = t.Object({
  id: t.String(),
  title: t.String(),
  kind: t.UnionEnum(KINDS),
  impact: t.UnionEnum(IMPACTS),
  components: t.Array(t.String()),
  status: t.String({ description: `incident: ${STATES.incident.join(' → ')}; maintenance: ${STATES.maintenance.join(' → ')}` }),
  starts_at: t.String(),
  ends_at: t.Nullable(t.String()),
  resolved_at: t.Nullable(t.String()),
  created_at: t.String(),
  updated_at: t.String(),
  updates: t.Array(UpdateView, { description: 'Oldest first' }),
})

export const StatusView = t.Object({
  status: t.UnionEnum(HEALTHS, { description: 'The worst component status' }),
  checked_at: t.Nullable(t.String()),
  components: t.Array(ComponentView),
  incidents: t.Array(IncidentView, { description: 'Open incidents, and those resolved in the last 7 days' }),
  maintenance: t.Array(IncidentView, { description: 'Maintenance windows announced or in progress (including those not started yet)' }),
})

const dateTime = (description: string) => t.String({ maxLength: 40, description: `ISO 8601 date-time; ${description}` })

export const CreateIncidentBody = t.Object({
  title: t.String({ maxLength: TITLE_MAX }),
  kind: oneOf(KINDS),
  impact: oneOf(IMPACTS),
  components: t.Array(oneOf(COMPONENTS), { maxItems: COMPONENTS.length }),
  starts_at: t.Optional(dateTime('Default now; a maintenance window in the future is announced until it starts')),
  ends_at: t.Optional(t.Nullable(dateTime('Expected end'))),
  status: t.Optional(oneOf(ALL_STATES, { description: 'Default investigating (incident) or scheduled (maintenance)' })),
  message: t.String({ maxLength: MESSAGE_MAX, description: 'The first update' }),
})

export const UpdateIncidentBody = t.Object({
  title: t.Optional(t.String({ maxLength: TITLE_MAX })),
  impact: t.Optional(oneOf(IMPACTS)),
  components: t.Optional(t.Array(oneOf(COMPONENTS), { maxItems: COMPONENTS.length })),
  starts_at: t.Optional(dateTime('When it started or starts')),
  ends_at: t.Optional(t.Nullable(dateTime('Expected end'))),
  status: t.Optional(oneOf(ALL_STATES, { description: 'The new state; never one before the current' })),
  message: t.Optional(t.String({ maxLength: MESSAGE_MAX, description: 'Posted as a timestamped update (needed with status)' })),
})

export type StatusViewType = Static<typeof StatusView>
export type IncidentViewType = Static<typeof IncidentView>
