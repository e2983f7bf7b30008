/**
 * The status page (SPEC §4 GET /api/v1/status, /status): each component's
 * current state from its newest probe sample, uptime over 24 hours (raw
 * samples) and 90 days (daily totals, one bar per day), open and recent
 * incidents, and maintenance windows announced or in progress. Admins post
 * and update incidents (incidents:manage); each change is audited in the same
 * transaction. States only move forward (model.ts STATES).
 */
import { isId, newId } from '../../../db/client'
import type { IncidentRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { RequestMeta } from '../../../plugins/rbac'
import { conflict, notFound, unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import {
  COMPONENT_LABELS,
  COMPONENTS,
  IMPACTS,
  isFinal,
  KINDS,
  MESSAGE_MAX,
  STATES,
  TITLE_MAX,
  type IncidentKind,
  type IncidentViewType,
  type StatusViewType,
} from './model'
import { utcDay, type IncidentWithUpdates } from './store'

const DAY_MS = 86_400_000
const BAR_DAYS = 90
/** Resolved incidents stay on the page this long. */
const RECENT_MS = 7 * DAY_MS
const HEALTH_RANK = { ok: 0, unknown: 1, degraded: 2, fail: 3 } as const
type Health = keyof typeof HEALTH_RANK

export interface StatusDeps {
  stores: Stores
  audit: AuditLog
  /** How often samples are taken (STATUS_SAMPLE_MS); a newest sample older than three periods reads as unknown. */
  sampleMs: number
  now?: () => Date
}

/** What create and update accept: the API's typed body, or a page form's strings (checked here either way). */
export interface IncidentInput {
  title?: string
  kind?: string
  impact?: string
  components?: string[]
  starts_at?: string
  ends_at?: string | null
  status?: string
  message?: string
}

const invalid = (field: string, message: string) => unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

const percent = (up: number, samples: number) => (samples === 0 ? null : Math.round((up / samples) * 100_000) / 1000)

function checkText(field: string, raw: string | undefined, max: number): string {
  const text = (raw ?? '').replace(/\r\n/g, '\n').trim()
  if (!text) throw invalid(field, field === 'title' ? 'write a title' : 'write a message')
  if (text.length > max) throw invalid(field, `at most ${max} characters (got ${text.length})`)
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text)) throw invalid(field, 'remove the control characters')
  return text
}

function checkTime(field: string, raw: string): Date {
  const at = new Date(raw)
  if (!raw.trim() || Number.isNaN(at.getTime())) throw invalid(field, 'give a date and time such as 2026-12-01T09:00Z')
  return at
}

function checkComponents(raw: string[] | undefined): string[] {
  const components = [...new Set(raw ?? [])]
  const unknown = components.filter((name) => !(COMPONENTS as readonly string[]).includes(name))
  if (unknown.length > 0) throw invalid('components', `unknown component ${unknown.join(', ')} (known: ${COMPONENTS.join(', ')})`)
  return COMPONENTS.filter((name) => components.includes(name))
}

function checkOneOf<V extends string>(field: string, raw: string | undefined, values: readonly V[]): V {
  if (!raw || !(values as readonly string[]).includes(raw)) throw invalid(field, `one of ${values.join(', ')}`)
  return raw as V
}

const incidentView = (row: IncidentWithUpdates): IncidentViewType => ({
  id: row.id,
  title: row.title,
  kind: row.kind as IncidentKind,
  impact: row.impact as IncidentViewType['impact'],
  components: row.components.split(',').filter(Boolean),
  status: row.status,
  starts_at: row.startsAt.toISOString(),
  ends_at: row.endsAt?.toISOString() ?? null,
  resolved_at: row.resolvedAt?.toISOString() ?? null,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
  updates: row.updates.map((update) => ({ status: update.status, message: update.message, at: update.at.toISOString() })),
})

/**
 * @example
 * const status = createStatusService({ stores, audit, sampleMs: 60_000 })
 * const report = await status.report()
 */
export function createStatusService({ stores, audit, sampleMs, now = () => new Date() }: StatusDeps) {
  return {
    async report(): Promise<StatusViewType> {
      const at = now()
      const firstDay = utcDay(new Date(at.getTime() - (BAR_DAYS - 1) * DAY_MS))
      const [latest, last24h, days, current] = await Promise.all([
        stores.status.latest(),
        stores.status.uptimeSince(new Date(at.getTime() - DAY_MS)),
        stores.status.days(firstDay),
        stores.status.current(new Date(at.getTime() - RECENT_MS), 50),
      ])
      const dates = Array.from({ length: BAR_DAYS }, (_, i) => utcDay(new Date(at.getTime() - (BAR_DAYS - 1 - i) * DAY_MS)))
      const components = COMPONENTS.map((name) => {
        const newest = latest.find((sample) => sample.component === name)
        const fresh = newest && at.getTime() - newest.at.getTime() <= 3 * sampleMs
        const own = days.filter((day) => day.component === name)
        const byDate = new Map(own.map((day) => [day.day, day]))
        const total = own.reduce((sum, day) => ({ samples: sum.samples + day.samples, up: sum.up + day.up }), { samples: 0, up: 0 })
        const recent = last24h.find((count) => count.component === name)
        return {
          name,
          label: COMPONENT_LABELS[name],
          status: (fresh ? newest.status : 'unknown') as Health,
          checked_at: newest?.at.toISOString() ?? null,
          latency_ms: newest?.latencyMs ?? null,
          uptime_24h: recent ? percent(recent.up, recent.samples) : null,
          uptime_90d: percent(total.up, total.samples),
          days: dates.map((date) => {
            const day = byDate.get(date)
            return { date, uptime: day ? percent(day.up, day.samples) : null }
          }),
        }
      })
      const worst = components.reduce<Health>((acc, c) => (HEALTH_RANK[c.status] > HEALTH_RANK[acc] ? c.status : acc), 'ok')
      const checked = latest.reduce<Date | null>((max, sample) => (!max || sample.at > max ? sample.at : max), null)
      const views = current.map(incidentView)
      return {
        status: worst,
        checked_at: checked?.toISOString() ?? null,
        components,
        incidents: views.filter((incident) => incident.kind === 'incident'),
        // Announced windows show from the moment they are posted, before they start; a completed one goes.
        maintenance: views.filter((incident) => incident.kind === 'maintenance' && incident.resolved_at === null).reverse(),
      }
    },

    async create(actor: Actor, input: IncidentInput, meta: RequestMeta): Promise<IncidentViewType> {
      const kind = checkOneOf('kind', input.kind, KINDS)
      const title = checkText('title', input.title, TITLE_MAX)
      const impact = checkOneOf('impact', input.impact, IMPACTS)
      const components = checkComponents(input.components)
      const status = input.status ? checkOneOf('status', input.status, STATES[kind]) : STATES[kind][0]!
      const message = checkText('message', input.message, MESSAGE_MAX)
      const at = now()
      const startsAt = input.starts_at ? checkTime('starts_at', input.starts_at) : at
      const endsAt = input.ends_at ? checkTime('ends_at', input.ends_at) : null
      if (endsAt && endsAt < startsAt) throw invalid('ends_at', 'must not be before starts_at')
      const row: IncidentRow = {
        id: newId(),
        title,
        kind,
        impact,
        components: components.join(','),
        status,
        startsAt,
        endsAt,
        resolvedAt: isFinal(kind, status) ? at : null,
        createdBy: actor.userId,
        createdAt: at,
        updatedAt: at,
      }
      const update = { id: newId(), incidentId: row.id, status, message, at, createdBy: actor.userId }
      await stores.transaction(async (tx) => {
        await tx.status.insertIncident(row, update)
        await audit.record({ ...meta.audit, action: 'incident.create', target: `incident:${row.id}`, metadata: { kind, impact, status, components } }, tx)
      })
      return incidentView({ ...row, updates: [update] })
    },

    async update(actor: Actor, id: string, input: IncidentInput, meta: RequestMeta): Promise<IncidentViewType> {
      const existing = isId(id) ? await stores.status.incident(id) : undefined
      if (!existing) throw notFound('The incident')
      const kind = existing.kind as IncidentKind
      const patch: Partial<IncidentRow> = {}
      if (input.title !== undefined) patch.title = checkText('title', input.title, TITLE_MAX)
      if (input.impact !== undefined) patch.impact = checkOneOf('impact', input.impact, IMPACTS)
      if (input.components !== undefined) patch.components = checkComponents(input.components).join(',')
      if (input.starts_at !== undefined) patch.startsAt = checkTime('starts_at', input.starts_at)
      if (input.ends_at !== undefined) patch.endsAt = input.ends_at ? checkTime('ends_at', input.ends_at) : null
      const startsAt = patch.startsAt ?? existing.startsAt
      const endsAt = patch.endsAt === undefined ? existing.endsAt : patch.endsAt
      if (endsAt && endsAt < startsAt) throw invalid('ends_at', 'must not be before starts_at')
      const status = input.status !== undefined && input.status !== '' ? checkOneOf('status', input.status, STATES[kind]) : existing.status
      const states = STATES[kind]
      if (states.indexOf(status) < states.indexOf(existing.status))
        throw conflict('invalid_transition', `A ${kind} moves ${states.join(' → ')}; it is ${existing.status} and cannot go back to ${status}.`)
      const hasMessage = input.message !== undefined && input.message.trim() !== ''
      if (status !== existing.status && !hasMessage) throw invalid('message', `say what changed when moving to ${status}`)
      const at = now()
      const update = hasMessage ? { id: newId(), incidentId: id, status, message: checkText('message', input.message, MESSAGE_MAX), at, createdBy: actor.userId } : null
      if (!update && Object.keys(patch).length === 0) throw invalid('message', 'nothing to change: post a message or change a field')
      patch.status = status
      patch.updatedAt = at
      if (status !== existing.status) patch.resolvedAt = isFinal(kind, status) ? at : null
      const row = await stores.transaction(async (tx) => {
        const changed = await tx.status.updateIncident(id, patch, update)
        if (!changed) throw notFound('The incident')
        await audit.record(
          {
            ...meta.audit,
            action: 'incident.update',
            target: `incident:${id}`,
            metadata: { kind, from: existing.status, status, fields: Object.keys(patch).filter((key) => key !== 'updatedAt' && key !== 'status') },
          },
          tx,
        )
        return changed
      })
      return incidentView({ ...row, updates: update ? [...existing.updates, update] : existing.updates })
    },

    async get(id: string): Promise<IncidentViewType> {
      const found = isId(id) ? await stores.status.incident(id) : undefined
      if (!found) throw notFound('The incident')
      return incidentView(found)
    },

    async list(params: PageParams): Promise<Page<IncidentViewType>> {
      return toPage(await stores.status.list(params.after, params.limit + 1), params, incidentView)
    },
  }
}

export type StatusService = ReturnType<typeof createStatusService>
