/** Sessions: the JSON API under /api/v1/sessions and the pages under /sessions. */
import { Elysia, t } from 'elysia'
import type { Actor } from '../../identity'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac, RequestMeta } from '../../../plugins/rbac'
import { AppError, forbidden } from '../../errors'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { RunAccepted } from '../jobs/model'
import { toJobView, type JobsService } from '../jobs/service'
import { CreateSessionBody, DeleteSessionQuery, SessionSummary } from './model'
import { loadResults, SessionResults } from './results'
import type { Stores } from '../../stores'
import type { PalettesService } from '../palettes/service'
import { DEFAULT_PALETTE, toSummary, type SessionsService } from './service'
import { NewSessionForm, NewSessionPage, SessionPage, SessionProgress, SessionRows, SessionsPage } from './views'
import { isMultipart } from '../documents/multipart'
import type { DocumentsService } from '../documents/service'
import { parseSessionForm, parseUploadForm } from '../documents/uploads'
import { sourceFieldOf, sourceFieldsCheck, type SourceFieldsOptions } from '../documents/form'

export interface SessionsModuleOptions {
  /** The results read stage outputs and the palette's chair. */
  stores: Pick<Stores, 'catalog' | 'stageOutputs'>
  sessions: SessionsService
  /** The palettes the new-session form offers (locked ones shown, not selectable). */
  palettes: PalettesService
  jobs: JobsService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  /** Sessions created with files (multipart) and the form's upload and web-search fields. */
  documents: DocumentsService
  sources: SourceFieldsOptions
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const RunHeaders = t.Object({ 'idempotency-key': t.Optional(t.String()) })

/**
 * @example
 * app.use(sessionsModule({ stores, sessions, palettes, jobs, guard, quota }))
 */
export const sessionsModule = ({ stores, sessions, palettes, jobs, guard, quota, documents, sources }: SessionsModuleOptions) => {
  /** Everything the session page shows, in four queries: session, its documents, latest job, outputs. */
  const pageData = async (actor: Actor, id: string, meta: RequestMeta) => {
    const session = await sessions.summary(await sessions.get(actor, id, meta))
    const job = await jobs.latestForSession(id)
    const results = job && (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') ? await loadResults(stores, session) : null
    return { actor, session, job: job ? toJobView(job) : null, results }
  }

  return new Elysia({ name: 'module/sessions' })
    .use(guard)
    .use(quota)
    .group('/api/v1/sessions', { detail: { tags: ['sessions'] } }, (api) =>
      api
        .post(
          '',
          async ({ actor, body, meta, set, request, spendQuota }) => {
            const created = isMultipart(request)
              ? await documents.createSession(actor, request, body, meta, { spendUpload: () => spendQuota('upload', actor) })
              : { session: await sessions.create(actor, body, meta), documents: [] }
            set.status = 201
            set.headers.location = `/api/v1/sessions/${created.session.id}`
            return toSummary(created.session, created.documents)
          },
          {
            permission: 'sessions:create',
            // A multipart create with files spends from `upload` too, once its first file arrives.
            quota: 'write',
            // A multipart body streams its files to storage; only the fields before them are parsed here.
            parse: [({ request }) => parseSessionForm(request), 'json', 'urlencoded', 'multipart/form-data'],
            body: CreateSessionBody,
            response: { 201: SessionSummary },
            detail: {
              summary: 'Create a session (JSON, form or multipart with files)',
              description:
                'Multipart: fields question, palette_id?, web_search?, then files (repeatable). Each file is checked against the allow-list and its magic bytes, and streamed to storage; the worker reads it. 413 file_too_large / too_many_files / session_too_large, 415 unsupported_type / type_mismatch, 403 uploads_disabled / web_search_disabled.',
            },
          },
        )
        .get('', ({ actor, query }) => sessions.list(actor, pageParams(query)), {
          permission: 'sessions:read',
          query: PageQuery,
          response: pageOf(SessionSummary),
          detail: { summary: "The caller's sessions, newest first" },
        })
        .get('/:id', async ({ actor, params, meta }) => sessions.summary(await sessions.get(actor, params.id, meta)), {
          permission: 'sessions:read',
          params: IdParams,
          response: SessionSummary,
          detail: { summary: 'One session: status, stage, tokens, cost, documents' },
        })
        .post(
          '/:id/run',
          async ({ actor, params, headers, meta, set }) => {
            const { job } = await jobs.runSession(actor, params.id, headers['idempotency-key'], meta)
            set.status = 202
            set.headers.location = `/api/v1/jobs/${job.id}`
            return { job_id: job.id, status: job.status as 'queued' }
          },
          {
            permission: 'sessions:run',
            quota: 'council-run',
            params: IdParams,
            headers: RunHeaders,
            response: { 202: RunAccepted },
            detail: { summary: 'Run the council on a session; the same Idempotency-Key returns the same job' },
          },
        )
        .get(
          '/:id/results',
          async ({ actor, params, meta }) => loadResults(stores, toSummary(await sessions.get(actor, params.id, meta))),
          {
            permission: 'sessions:read',
            params: IdParams,
            response: SessionResults,
            detail: { summary: 'Drafts, reviews with parsed rankings, leaderboard, synthesis' },
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
            quota: 'write',
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
    .get(
      '/sessions/new',
      async ({ actor, query }) =>
        NewSessionPage({ actor, sources, palettes: (await palettes.list(actor)).items, paletteId: query.palette ?? DEFAULT_PALETTE }),
      { permission: 'sessions:create', query: t.Object({ palette: t.Optional(t.String({ maxLength: 64 })) }), detail: { hide: true } },
    )
    .post(
      '/sessions',
      async ({ actor, body, meta, set, request, spendQuota }) => {
        const htmx = request.headers.get('hx-request') === 'true'
        try {
          let row
          if (isMultipart(request)) {
            const options = { requireAcknowledgement: true, check: sourceFieldsCheck, spendUpload: () => spendQuota('upload', actor) }
            row = (await documents.createSession(actor, request, body, meta, options)).session
          } else {
            sourceFieldsCheck(body)
            row = await sessions.create(actor, body, meta)
          }
          if (body.run === 'true' && actor.permissions.has('sessions:run')) await jobs.runSession(actor, row.id, undefined, meta)
          if (htmx) {
            set.headers['hx-location'] = `/sessions/${row.id}`
            return ''
          }
          set.status = 303
          set.headers.location = `/sessions/${row.id}`
          return ''
        } catch (error) {
          // Re-render the form with the message and the user's text, so nothing typed is lost;
          // a refused upload or web search is said beside its field.
          if (!(error instanceof AppError) || ![400, 403, 413, 415, 422, 503].includes(error.status) || error.code === 'csrf_failed') throw error
          set.status = error.status
          const about = sourceFieldOf(error.code)
          // Said beside its field when the form shows that field; above the form otherwise.
          const field = (about === 'uploads' && sources.uploads) || (about === 'web_search' && sources.webSearch) ? about : null
          const choices = (await palettes.list(actor)).items
          return NewSessionForm({
            actor,
            sources,
            question: body.question,
            palettes: choices,
            paletteId: body.palette_id,
            ...(field ? { sourceError: { field, message: error.message } } : { error: error.message }),
          })
        }
      },
      {
        permission: 'sessions:create',
        // The form runs the council at once when "run" is ticked: that spends a council run too.
        quota: ({ body }: { body: unknown }) => ((body as { run?: string }).run === 'true' ? ['write', 'council-run'] : 'write'),
        parse: ({ request }) => parseUploadForm(request),
        body: t.Composite([
          CreateSessionBody,
          t.Object({ run: t.Optional(t.String()), acknowledge_uploads: t.Optional(t.String()), acknowledge_web_search: t.Optional(t.String()) }),
        ]),
        detail: { hide: true },
      },
    )
    .get('/sessions/:id', async ({ actor, params, meta }) => SessionPage(await pageData(actor, params.id, meta)), {
      permission: 'sessions:read',
      params: IdParams,
      detail: { hide: true },
    })
    .get('/sessions/:id/progress', async ({ actor, params, meta }) => SessionProgress(await pageData(actor, params.id, meta)), {
      permission: 'sessions:read',
      params: IdParams,
      detail: { hide: true },
    })
    .post(
      '/sessions/:id/run',
      async ({ actor, params, meta, set }) => {
        try {
          await jobs.runSession(actor, params.id, undefined, meta)
        } catch (error) {
          if (!(error instanceof AppError) || error.status !== 409) throw error
          set.status = 409
          return SessionProgress({ ...(await pageData(actor, params.id, meta)), error: error.message })
        }
        return SessionProgress(await pageData(actor, params.id, meta))
      },
      { permission: 'sessions:run', quota: 'council-run', params: IdParams, detail: { hide: true } },
    )
}
