/**
 * The roadmap: the JSON API under /api/v1/roadmap (reads for roadmap:read,
 * writes for roadmap:manage) and the page /roadmap with its admin forms.
 */
import { Elysia, t } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError } from '../../errors'
import { MAX_LIMIT, pageOf, pageParams } from '../../pagination'
import type { Stores } from '../../stores'
import { CreateRoadmapBody, MOVES, RoadmapItemView, RoadmapQuery, UpdateRoadmapBody, type Move } from './model'
import { createRoadmapService, parseBoardCursor } from './service'
import { PHASES, type Phase, type RoadmapFilters } from './store'
import { RoadmapBoard, RoadmapPage, type BoardProps, type ItemDraft } from './views'

export interface RoadmapModuleOptions {
  stores: Stores
  audit: AuditLog
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

/** The page's filters: plain strings, so a stale or hand-edited link shows the board rather than an error. */
const PageFilters = t.Object({
  phase: t.Optional(t.String({ maxLength: 20 })),
  status: t.Optional(t.String({ maxLength: 20 })),
  q: t.Optional(t.String({ maxLength: 200 })),
})
/** Page forms are checked by the service, so a refusal is shown in the board rather than as a bare error. */
const ItemForm = t.Object({
  title: t.Optional(t.String({ maxLength: 100_000 })),
  description: t.Optional(t.String({ maxLength: 100_000 })),
  phase: t.Optional(t.String({ maxLength: 20 })),
  status: t.Optional(t.String({ maxLength: 20 })),
  move: t.Optional(t.String({ maxLength: 20 })),
  _csrf: t.Optional(t.String()),
})

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'

function pageFilters(query: typeof PageFilters.static): RoadmapFilters {
  const phase = (PHASES as readonly string[]).includes(query.phase ?? '') ? (query.phase as Phase) : undefined
  const status = query.status?.trim() || undefined
  return { phase, status, q: query.q?.trim() || undefined }
}

/**
 * @example
 * app.use(roadmapModule({ stores, audit, guard, quota }))
 */
export const roadmapModule = ({ stores, audit, guard, quota }: RoadmapModuleOptions) => {
  const roadmap = createRoadmapService({ stores, audit })

  const board = async (actor: Actor, filters: RoadmapFilters, extra: Partial<BoardProps> = {}): Promise<BoardProps> => {
    const page = await roadmap.list(actor, filters, { limit: MAX_LIMIT, after: null })
    return { actor, items: page.items, filters, truncated: page.next_cursor !== null, ...extra }
  }

  /** A page mutation: htmx gets the board back (with the refusal and the typed values in it); a plain form post gets 303. */
  const mutate = async (
    actor: Actor,
    query: typeof PageFilters.static,
    request: Request,
    set: { status?: number | string; headers: Record<string, string | number> },
    draft: ItemDraft | undefined,
    change: () => Promise<string>,
  ) => {
    const filters = pageFilters(query)
    try {
      const done = await change()
      if (!isHtmx(request)) {
        set.status = 303
        set.headers.location = `/roadmap${new URL(request.url).search}`
        return ''
      }
      return RoadmapBoard(await board(actor, filters, { done }))
    } catch (error) {
      if (!(error instanceof AppError) || ![404, 409, 422].includes(error.status)) throw error
      set.status = error.status
      const props = await board(actor, filters, { error: error.message, draft })
      return isHtmx(request) ? RoadmapBoard(props) : RoadmapPage(props)
    }
  }

  const draftOf = (body: typeof ItemForm.static, id?: string): ItemDraft => ({
    id,
    title: body.title,
    description: body.description,
    phase: body.phase,
    status: body.status,
  })

  return new Elysia({ name: 'module/roadmap' })
    .use(guard)
    .use(quota)
    .group('/api/v1/roadmap', { detail: { tags: ['roadmap'] } }, (api) =>
      api
        .get(
          '',
          ({ actor, query }) =>
            roadmap.list(actor, { phase: query.phase, status: query.status, q: query.q }, { limit: pageParams({ limit: query.limit }).limit, after: parseBoardCursor(query.cursor) }),
          {
            permission: 'roadmap:read',
            query: RoadmapQuery,
            response: pageOf(RoadmapItemView),
            detail: { summary: 'Roadmap items in board order (now, next, later; then position), each with the linked tickets the caller may see' },
          },
        )
        .get('/:id', ({ actor, params }) => roadmap.get(actor, params.id), {
          permission: 'roadmap:read',
          params: IdParams,
          response: RoadmapItemView,
          detail: { summary: 'One roadmap item with its linked tickets' },
        })
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            const item = await roadmap.create(actor, body, meta)
            set.status = 201
            set.headers.location = `/api/v1/roadmap/${item.id}`
            return item
          },
          {
            permission: 'roadmap:manage',
            quota: 'write',
            body: CreateRoadmapBody,
            response: { 201: RoadmapItemView },
            detail: { summary: 'Add a roadmap item (admins)' },
          },
        )
        .patch('/:id', ({ actor, params, body, meta }) => roadmap.update(actor, params.id, body, meta), {
          permission: 'roadmap:manage',
          quota: 'write',
          params: IdParams,
          body: UpdateRoadmapBody,
          response: RoadmapItemView,
          detail: { summary: 'Edit, move between phases or reorder a roadmap item (admins)' },
        })
        .delete(
          '/:id',
          async ({ actor, params, meta, set }) => {
            await roadmap.remove(actor, params.id, meta)
            set.status = 204
            return undefined
          },
          {
            permission: 'roadmap:manage',
            quota: 'write',
            params: IdParams,
            detail: { summary: 'Delete a roadmap item (admins); its tickets stay, unlinked' },
          },
        ),
    )
    .get(
      '/roadmap',
      async ({ actor, query, request }) => {
        const props = await board(actor, pageFilters(query))
        return isHtmx(request) ? RoadmapBoard(props) : RoadmapPage(props)
      },
      { permission: 'roadmap:read', query: PageFilters, detail: { hide: true } },
    )
    .post(
      '/roadmap/items',
      ({ actor, query, body, meta, request, set }) =>
        mutate(actor, query, request, set, draftOf(body), async () => {
          const item = await roadmap.create(
            actor,
            { title: body.title ?? '', description: body.description, phase: body.phase ?? '', status: body.status },
            meta,
          )
          return `Added “${item.title}” to ${item.phase}.`
        }),
      { permission: 'roadmap:manage', quota: 'write', query: PageFilters, body: ItemForm, detail: { hide: true } },
    )
    .post(
      '/roadmap/items/:id/edit',
      ({ actor, params, query, body, meta, request, set }) =>
        mutate(actor, query, request, set, draftOf(body, params.id), async () => {
          const item = await roadmap.update(
            actor,
            params.id,
            { title: body.title, description: body.description, phase: body.phase, status: body.status },
            meta,
          )
          return `Saved “${item.title}”.`
        }),
      { permission: 'roadmap:manage', quota: 'write', params: IdParams, query: PageFilters, body: ItemForm, detail: { hide: true } },
    )
    .post(
      '/roadmap/items/:id/move',
      ({ actor, params, query, body, meta, request, set }) =>
        mutate(actor, query, request, set, undefined, async () => {
          const move = (MOVES as readonly string[]).includes(body.move ?? '') ? (body.move as Move) : 'up'
          const item = await roadmap.update(actor, params.id, { move }, meta)
          return `Moved “${item.title}” ${move === 'up' || move === 'down' ? move : `to the ${move}`}.`
        }),
      { permission: 'roadmap:manage', quota: 'write', params: IdParams, query: PageFilters, body: ItemForm, detail: { hide: true } },
    )
    .post(
      '/roadmap/items/:id/delete',
      ({ actor, params, query, meta, request, set }) =>
        mutate(actor, query, request, set, undefined, async () => {
          const item = await roadmap.get(actor, params.id)
          await roadmap.remove(actor, params.id, meta)
          return `Deleted “${item.title}”.`
        }),
      { permission: 'roadmap:manage', quota: 'write', params: IdParams, query: PageFilters, body: t.Optional(ItemForm), detail: { hide: true } },
    )
}
