/** Sessions: the JSON API under /api/v1/sessions and the pages under /sessions. */
import { Elysia, t } from 'elysia'
import type { rbac } from '../../../plugins/rbac'
import { forbidden } from '../../errors'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { CreateSessionBody, DeleteSessionQuery, SessionSummary } from './model'
import { toSummary, type SessionsService } from './service'
import { NewSessionForm, NewSessionPage, SessionPage, SessionRows, SessionsPage } from './views'
import { AppError } from '../../errors'

export interface SessionsModuleOptions {
  sessions: SessionsService
  guard: ReturnType<typeof rbac>
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

/**
 * @example
 * app.use(sessionsModule({ sessions, guard }))
 */
export const sessionsModule = ({ sessions, guard }: SessionsModuleOptions) =>
  new Elysia({ name: 'module/sessions' })
    .use(guard)
    .group('/api/v1/sessions', { detail: { tags: ['sessions'] } }, (api) =>
      api
        .post(
          '/',
          async ({ actor, body, meta, set }) => {
            if ('files' in (body as Record<string, unknown>))
              throw new AppError(
                422,
                'uploads_unavailable',
                'Document uploads are not available on this server yet; send the question alone.',
              )
            const row = await sessions.create(actor, body, meta)
            set.status = 201
            set.headers.location = `/api/v1/sessions/${row.id}`
            return toSummary(row)
          },
          {
            permission: 'sessions:create',
            body: CreateSessionBody,
            response: { 201: SessionSummary },
            detail: { summary: 'Create a session (JSON, form or multipart)' },
          },
        )
        .get('/', ({ actor, query }) => sessions.list(actor, pageParams(query)), {
          permission: 'sessions:read',
          query: PageQuery,
          response: pageOf(SessionSummary),
          detail: { summary: "The caller's sessions, newest first" },
        })
        .get(
          '/:id',
          async ({ actor, params, meta }) => toSummary(await sessions.get(actor, params.id, meta)),
          {
            permission: 'sessions:read',
            params: IdParams,
            response: SessionSummary,
            detail: { summary: 'One session: status, stage, tokens, cost, documents' },
          },
        )
        .delete(
          '/:id',
          async ({ actor, params, query, meta, set }) => {
            if (query.hard) {
              if (!actor.permissions.has('sessions:hard_delete'))
                throw forbidden('Only administrators can erase a session; omit ?hard=true to delete it.')
              await sessions.hardDelete(actor, params.id, meta)
            } else await sessions.softDelete(actor, params.id, meta)
            set.status = 204
            return undefined
          },
          {
            permission: 'sessions:delete',
            params: IdParams,
            query: DeleteSessionQuery,
            detail: { summary: 'Delete a session (soft; ?hard=true erases, admins only)' },
          },
        ),
    )
    .get(
      '/sessions',
      async ({ actor, query, request }) => {
        const page = await sessions.list(actor, pageParams(query))
        if (request.headers.get('hx-request') === 'true') return SessionRows({ page })
        return SessionsPage({ actor, page })
      },
      { permission: 'sessions:read', query: PageQuery, detail: { hide: true } },
    )
    .get('/sessions/new', ({ actor }) => NewSessionPage({ actor }), { permission: 'sessions:create', detail: { hide: true } })
    .post(
      '/sessions',
      async ({ actor, body, meta, set, request }) => {
        const htmx = request.headers.get('hx-request') === 'true'
        try {
          const row = await sessions.create(actor, body, meta)
          if (htmx) {
            set.headers['hx-location'] = `/sessions/${row.id}`
            return ''
          }
          set.status = 303
          set.headers.location = `/sessions/${row.id}`
          return ''
        } catch (error) {
          // Re-render the form with the message and the user's text, so nothing typed is lost.
          if (!(error instanceof AppError) || error.status !== 422) throw error
          set.status = 422
          return NewSessionForm({ actor, error: error.message, question: body.question })
        }
      },
      { permission: 'sessions:create', body: CreateSessionBody, detail: { hide: true } },
    )
    .get(
      '/sessions/:id',
      async ({ actor, params, meta }) =>
        SessionPage({
          actor,
          session: toSummary(await sessions.get(actor, params.id, meta)),
        }),
      { permission: 'sessions:read', params: IdParams, detail: { hide: true } },
    )
