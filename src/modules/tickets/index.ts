/**
 * Tickets: the JSON API under /api/v1/tickets and the pages /tickets and
 * /tickets/:id. Reading needs tickets:read; filing, editing one's own and
 * commenting need tickets:create (so a read-only role cannot write); the
 * triage fields need tickets:update, checked by the service.
 */
import { Elysia, t } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError } from '../../errors'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import type { Stores } from '../../stores'
import { createRoadmapService } from '../roadmap/service'
import { CommentBody, CommentsPage, CommentView, CreateTicketBody, KINDS, PRIORITIES, STATUSES, TicketDetail, TicketsQuery, TicketSummary, UpdateTicketBody } from './model'
import { createTicketsService } from './service'
import { CommentItems, Thread, TicketMain, TicketPage, type TicketMainProps } from './ticket-views'
import { NewTicketForm, TicketResults, TicketRows, TicketsPage, type TicketListFilters } from './views'

export interface TicketsModuleOptions {
  stores: Stores
  audit: AuditLog
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

/** The page's filters: plain strings, so a stale link shows the list rather than an error. */
const ListQuery = t.Object({
  status: t.Optional(t.String({ maxLength: 20 })),
  kind: t.Optional(t.String({ maxLength: 20 })),
  mine: t.Optional(t.String({ maxLength: 10 })),
  roadmap_item: t.Optional(t.String({ maxLength: 64 })),
  new: t.Optional(t.String({ maxLength: 10 })),
  cursor: PageQuery.properties.cursor,
})
/** Page forms are checked by the service, so a refusal is shown beside the form with what was typed. */
const TicketForm = t.Object({
  title: t.Optional(t.String({ maxLength: 100_000 })),
  body: t.Optional(t.String({ maxLength: 100_000 })),
  kind: t.Optional(t.String({ maxLength: 20 })),
  _csrf: t.Optional(t.String()),
})
const TriageForm = t.Object({
  status: t.Optional(t.String({ maxLength: 20 })),
  priority: t.Optional(t.String({ maxLength: 20 })),
  roadmap_item_id: t.Optional(t.String({ maxLength: 64 })),
  public: t.Optional(t.String({ maxLength: 10 })),
  _csrf: t.Optional(t.String()),
})

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'
const among = <V extends string>(values: readonly V[], value: string | undefined): V | undefined =>
  (values as readonly string[]).includes(value ?? '') ? (value as V) : undefined

type SetLike = { status?: number | string; headers: Record<string, string | number> }

/** A refusal the page shows beside its form (anything else goes to the error page). */
const shown = (error: unknown): error is AppError => error instanceof AppError && [403, 409, 422].includes(error.status)

/**
 * @example
 * app.use(ticketsModule({ stores, audit, guard, quota }))
 */
export const ticketsModule = ({ stores, audit, guard, quota }: TicketsModuleOptions) => {
  const tickets = createTicketsService({ stores, audit })
  const roadmap = createRoadmapService({ stores, audit })

  const listFilters = (query: typeof ListQuery.static): TicketListFilters => ({
    status: among(STATUSES, query.status),
    kind: among(KINDS, query.kind),
    mine: query.mine === 'true',
    roadmapItemId: query.roadmap_item?.trim() || undefined,
  })

  const mainProps = async (actor: Actor, id: string, extra: Partial<TicketMainProps> = {}): Promise<TicketMainProps> => ({
    actor,
    ticket: await tickets.get(actor, id),
    choices: actor.permissions.has('tickets:update') ? await roadmap.outline() : [],
    ...extra,
  })

  /** After a change to the ticket: htmx gets #ticket-main back; a plain form post gets 303 to the ticket. */
  const afterChange = async (actor: Actor, id: string, request: Request, set: SetLike, done: string) => {
    if (isHtmx(request)) return TicketMain(await mainProps(actor, id, { done }))
    set.status = 303
    set.headers.location = `/tickets/${id}`
    return ''
  }

  const refused = async (actor: Actor, id: string, request: Request, set: SetLike, error: AppError, draft?: TicketMainProps['draft']) => {
    set.status = error.status
    const props = await mainProps(actor, id, { error: error.message, draft })
    if (isHtmx(request)) return TicketMain(props)
    return TicketPage({ ...props, comments: props.ticket.comments })
  }

  return new Elysia({ name: 'module/tickets' })
    .use(guard)
    .use(quota)
    .group('/api/v1/tickets', { detail: { tags: ['tickets'] } }, (api) =>
      api
        .get(
          '',
          ({ actor, query }) =>
            tickets.list(actor, { status: query.status, kind: query.kind, mine: query.mine, roadmapItemId: query.roadmap_item_id }, pageParams(query)),
          {
            permission: 'tickets:read',
            query: TicketsQuery,
            response: pageOf(TicketSummary),
            detail: { summary: 'Tickets the caller may see (their own and the public ones; triagers all), newest first' },
          },
        )
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            const ticket = await tickets.create(actor, body, meta)
            set.status = 201
            set.headers.location = `/api/v1/tickets/${ticket.id}`
            return ticket
          },
          {
            permission: 'tickets:create',
            quota: 'write',
            body: CreateTicketBody,
            response: { 201: TicketDetail },
            detail: { summary: 'File a ticket (private to you and triagers until made public)' },
          },
        )
        .get('/:id', ({ actor, params }) => tickets.get(actor, params.id), {
          permission: 'tickets:read',
          params: IdParams,
          response: TicketDetail,
          detail: { summary: 'One ticket with its first comments; another member’s private ticket is 404' },
        })
        .patch('/:id', ({ actor, params, body, meta }) => tickets.update(actor, params.id, body, meta), {
          permission: 'tickets:create',
          quota: 'write',
          params: IdParams,
          body: UpdateTicketBody,
          response: TicketDetail,
          detail: { summary: 'Edit title/body (author while open, or triagers); status, priority, public, roadmap link (triagers: tickets:update)' },
        })
        .get('/:id/comments', ({ actor, params, query }) => tickets.comments(actor, params.id, pageParams(query)), {
          permission: 'tickets:read',
          params: IdParams,
          query: PageQuery,
          response: CommentsPage,
          detail: { summary: 'A ticket’s comments, oldest first' },
        })
        .post(
          '/:id/comments',
          async ({ actor, params, body, meta, set }) => {
            const comment = await tickets.comment(actor, params.id, body, meta)
            set.status = 201
            return comment
          },
          {
            permission: 'tickets:create',
            quota: 'write',
            params: IdParams,
            body: CommentBody,
            response: { 201: CommentView },
            detail: { summary: 'Comment on a ticket you can see (markdown)' },
          },
        ),
    )
    .get(
      '/tickets',
      async ({ actor, query, request }) => {
        const filters = listFilters(query)
        const page = await tickets.list(actor, filters, pageParams({ cursor: query.cursor }))
        if (isHtmx(request)) return query.cursor ? TicketRows({ page, filters }) : TicketResults({ page, filters })
        return TicketsPage({ actor, page, filters, form: { open: query.new === 'true' } })
      },
      { permission: 'tickets:read', query: ListQuery, detail: { hide: true } },
    )
    .post(
      '/tickets',
      async ({ actor, body, meta, request, set }) => {
        const draft = { title: body.title, body: body.body, kind: body.kind }
        try {
          const ticket = await tickets.create(actor, { title: body.title ?? '', body: body.body ?? '', kind: body.kind ?? '' }, meta)
          if (isHtmx(request)) set.headers['hx-location'] = `/tickets/${ticket.id}`
          else {
            set.status = 303
            set.headers.location = `/tickets/${ticket.id}`
          }
          return ''
        } catch (error) {
          if (!shown(error)) throw error
          set.status = error.status
          if (isHtmx(request)) return NewTicketForm({ actor, error: error.message, draft })
          const filters = listFilters({})
          return TicketsPage({ actor, page: await tickets.list(actor, filters, pageParams({})), filters, form: { error: error.message, draft } })
        }
      },
      { permission: 'tickets:create', quota: 'write', body: TicketForm, detail: { hide: true } },
    )
    .get(
      '/tickets/:id',
      async ({ actor, params }) => {
        const props = await mainProps(actor, params.id)
        return TicketPage({ ...props, comments: props.ticket.comments })
      },
      { permission: 'tickets:read', params: IdParams, detail: { hide: true } },
    )
    .get(
      '/tickets/:id/comments',
      async ({ actor, params, query }) => CommentItems({ ticketId: params.id, page: await tickets.comments(actor, params.id, pageParams(query)) }),
      { permission: 'tickets:read', params: IdParams, query: PageQuery, detail: { hide: true } },
    )
    .post(
      '/tickets/:id/comments',
      async ({ actor, params, body, meta, request, set }) => {
        const ticket = await tickets.get(actor, params.id)
        try {
          await tickets.comment(actor, params.id, { body: body.body ?? '' }, meta)
        } catch (error) {
          if (!shown(error)) throw error
          set.status = error.status
          return Thread({ actor, ticket, comments: ticket.comments, error: error.message, draft: body.body })
        }
        if (!isHtmx(request)) {
          set.status = 303
          set.headers.location = `/tickets/${params.id}#thread`
          return ''
        }
        return Thread({ actor, ticket, comments: (await tickets.get(actor, params.id)).comments })
      },
      { permission: 'tickets:create', quota: 'write', params: IdParams, body: TicketForm, detail: { hide: true } },
    )
    .post(
      '/tickets/:id/edit',
      async ({ actor, params, body, meta, request, set }) => {
        try {
          await tickets.update(actor, params.id, { title: body.title ?? '', body: body.body ?? '' }, meta)
        } catch (error) {
          if (!shown(error)) throw error
          return refused(actor, params.id, request, set, error, { title: body.title, body: body.body })
        }
        return afterChange(actor, params.id, request, set, 'Saved.')
      },
      { permission: 'tickets:create', quota: 'write', params: IdParams, body: TicketForm, detail: { hide: true } },
    )
    .post(
      '/tickets/:id/triage',
      async ({ actor, params, body, meta, request, set }) => {
        try {
          await tickets.update(
            actor,
            params.id,
            {
              status: among(STATUSES, body.status),
              priority: among(PRIORITIES, body.priority),
              public: body.public === 'true',
              roadmap_item_id: body.roadmap_item_id?.trim() || null,
            },
            meta,
          )
        } catch (error) {
          if (!shown(error)) throw error
          return refused(actor, params.id, request, set, error)
        }
        return afterChange(actor, params.id, request, set, 'Triage saved.')
      },
      { permission: 'tickets:update', quota: 'write', params: IdParams, body: TriageForm, detail: { hide: true } },
    )
}
