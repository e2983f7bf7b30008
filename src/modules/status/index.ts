/**
 * The status page: GET /api/v1/status and /status for everyone signed in
 * (status:read); incidents and maintenance windows for admins
 * (incidents:manage): GET/POST /api/admin/incidents, PATCH
 * /api/admin/incidents/:id, and the page /admin/incidents with its forms.
 */
import { Elysia, t } from 'elysia'
import type { Actor } from '../../../plugins/auth'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError } from '../../errors'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { CreateIncidentBody, IncidentView, StatusView, UpdateIncidentBody } from './model'
import type { IncidentInput, StatusService } from './service'
import { IncidentsPage, IncidentsPanel, StatusPage, type IncidentDraft, type IncidentsPanelProps } from './views'

export interface StatusModuleOptions {
  status: StatusService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  now?: () => Date
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

/** Page forms are checked by the service, so a refusal is shown beside the form with what was typed. */
const IncidentForm = t.Object({
  title: t.Optional(t.String({ maxLength: 10_000 })),
  kind: t.Optional(t.String({ maxLength: 40 })),
  impact: t.Optional(t.String({ maxLength: 40 })),
  components: t.Optional(t.Union([t.String({ maxLength: 40 }), t.Array(t.String({ maxLength: 40 }), { maxItems: 20 })])),
  starts_at: t.Optional(t.String({ maxLength: 40 })),
  ends_at: t.Optional(t.String({ maxLength: 40 })),
  status: t.Optional(t.String({ maxLength: 40 })),
  message: t.Optional(t.String({ maxLength: 100_000 })),
  _csrf: t.Optional(t.String()),
})
type IncidentFormBody = typeof IncidentForm.static

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'

/** A datetime-local value (no zone) is read as UTC, as the form says; anything else is passed on for the service to judge. */
const utc = (raw: string | undefined) => {
  const value = raw?.trim()
  if (!value) return undefined
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}Z` : value
}

const draftOf = (body: IncidentFormBody, id?: string): IncidentDraft => ({
  id,
  title: body.title,
  kind: body.kind,
  impact: body.impact,
  components: typeof body.components === 'string' ? [body.components] : body.components,
  starts_at: body.starts_at,
  ends_at: body.ends_at,
  status: body.status,
  message: body.message,
})

/**
 * @example
 * app.use(statusModule({ status: deps.status, guard, quota }))
 */
export const statusModule = ({ status, guard, quota, now = () => new Date() }: StatusModuleOptions) => {
  const panel = async (actor: Actor, cursor: string | undefined, extra: Partial<IncidentsPanelProps> = {}): Promise<IncidentsPanelProps> => {
    const page = await status.list(pageParams({ cursor, limit: 25 }))
    return { actor, items: page.items, nextCursor: page.next_cursor, ...extra }
  }

  /** A page mutation: htmx gets the panel back (with the refusal and the typed values); a plain form post gets 303. */
  const mutate = async (
    actor: Actor,
    request: Request,
    set: { status?: number | string; headers: Record<string, string | number> },
    draft: IncidentDraft,
    change: () => Promise<string>,
  ) => {
    try {
      const done = await change()
      if (!isHtmx(request)) {
        set.status = 303
        set.headers.location = '/admin/incidents'
        return ''
      }
      return IncidentsPanel(await panel(actor, undefined, { done }))
    } catch (error) {
      if (!(error instanceof AppError) || ![404, 409, 422].includes(error.status)) throw error
      set.status = error.status
      const props = await panel(actor, undefined, { error: error.message, draft })
      return isHtmx(request) ? IncidentsPanel(props) : IncidentsPage(props)
    }
  }

  return new Elysia({ name: 'module/status' })
    .use(guard)
    .use(quota)
    .get('/api/v1/status', () => status.report(), {
      permission: 'status:read',
      response: StatusView,
      detail: { tags: ['status'], summary: 'Component status from periodic probes, uptime over 24 h and 90 days, incidents and maintenance' },
    })
    .get('/status', async ({ actor }) => StatusPage({ actor, report: await status.report(), now: now() }), { permission: 'status:read', detail: { hide: true } })
    .group('/api/admin/incidents', { detail: { tags: ['admin'] } }, (api) =>
      api
        .get('', async ({ query }) => status.list(pageParams(query)), {
          permission: 'incidents:manage',
          query: PageQuery,
          response: pageOf(IncidentView),
          detail: { summary: 'Every incident and maintenance window, newest first, with their updates' },
        })
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            const created = await status.create(actor, body as IncidentInput, meta)
            set.status = 201
            return created
          },
          {
            permission: 'incidents:manage',
            quota: 'write',
            body: CreateIncidentBody,
            response: { 201: IncidentView },
            detail: { summary: 'Post an incident or a maintenance window with its first update (admins)' },
          },
        )
        .patch('/:id', ({ actor, params, body, meta }) => status.update(actor, params.id, body as IncidentInput, meta), {
          permission: 'incidents:manage',
          quota: 'write',
          params: IdParams,
          body: UpdateIncidentBody,
          response: IncidentView,
          detail: { summary: 'Change an incident and post a timestamped update; states only move forward (admins)' },
        }),
    )
    .get(
      '/admin/incidents',
      async ({ actor, query, request }) => {
        const props = await panel(actor, query.cursor)
        return isHtmx(request) ? IncidentsPanel(props) : IncidentsPage(props)
      },
      { permission: 'incidents:manage', query: t.Object({ cursor: t.Optional(t.String({ maxLength: 200 })) }), detail: { hide: true } },
    )
    .post(
      '/admin/incidents',
      ({ actor, body, meta, request, set }) =>
        mutate(actor, request, set, draftOf(body), async () => {
          const draft = draftOf(body)
          const created = await status.create(
            actor,
            { ...draft, status: draft.status || undefined, starts_at: utc(draft.starts_at), ends_at: utc(draft.ends_at) ?? null, components: draft.components ?? [] },
            meta,
          )
          return `Posted “${created.title}”.`
        }),
      { permission: 'incidents:manage', quota: 'write', body: IncidentForm, detail: { hide: true } },
    )
    .post(
      '/admin/incidents/:id',
      ({ actor, params, body, meta, request, set }) =>
        mutate(actor, request, set, draftOf(body, params.id), async () => {
          const current = await status.get(params.id)
          const endsAt = utc(body.ends_at) ?? null
          const updated = await status.update(
            actor,
            params.id,
            {
              status: body.status,
              message: body.message,
              // Only a changed end is a change (the form always sends the field).
              ends_at: endsAt === (current.ends_at ? `${current.ends_at.slice(0, 16)}Z` : null) ? undefined : endsAt,
            },
            meta,
          )
          return `Updated “${updated.title}”.`
        }),
      { permission: 'incidents:manage', quota: 'write', params: IdParams, body: IncidentForm, detail: { hide: true } },
    )
}
