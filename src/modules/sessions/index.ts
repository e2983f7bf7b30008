/** Sessions: the JSON API under /api/v1/sessions and the pages under /sessions. */
import { Elysia, t, type Static } from 'elysia'
import type { SessionRow } from '../../../db/schema'
import type { JobEvent, JobEventLog } from '../../../plugins/events'
import type { HtmlError } from '../../../plugins/errors'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac, RequestMeta } from '../../../plugins/rbac'
import type { Actor } from '../../identity'
import { AppError, forbidden, notFound } from '../../errors'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import type { Stores } from '../../stores'
import type { Viewer } from '../../viewer'
import { ErrorNotice } from '../../../views/layout'
import { EventStreamHeaders } from '../jobs'
import { RunAccepted } from '../jobs/model'
import { toJobView, type JobsService } from '../jobs/service'
import { checkLastEventId, jobEventStream } from '../jobs/stream'
import { DraftBody, ReviewNote } from './live-views'
import { CreateSessionBody, DeleteSessionQuery, SESSION_STATUSES, SessionSummary } from './model'
import { loadCouncil, loadResults, SessionResults } from './results'
import { DEFAULT_PALETTE, toSummary, type SessionsService } from './service'
import { fieldOf, NewSessionForm, NewSessionPage, type NewSessionFormProps } from './form-views'
import { SessionPage, SessionProgress, SessionRows, SessionsPage, StatusUpdates, type ListFilter } from './views'
import type { PalettesService } from '../palettes/service'
import { isMultipart } from '../documents/multipart'
import { acknowledged, type DocumentsService } from '../documents/service'
import { fieldsSent, parseSessionForm, parseUploadForm } from '../documents/uploads'
import { sourceFieldsCheck, type SourceFieldsOptions } from '../documents/form'

export interface SessionsModuleOptions {
  /** The results read stage outputs and the palette's chair. */
  stores: Pick<Stores, 'catalog' | 'stageOutputs'>
  sessions: SessionsService
  /** The palettes the new-session form offers (locked ones shown, not selectable). */
  palettes: PalettesService
  jobs: JobsService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  /** The live page follows its job's events (plugins/events). */
  events: JobEventLog
  heartbeatMs: number
  /** Aborted when the server stops; ends the open streams. */
  closing?: AbortSignal
  questionMaxChars: number
  /** Sessions created with files (multipart) and the form's upload and web-search fields. */
  documents: DocumentsService
  sources: SourceFieldsOptions
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const RunHeaders = t.Object({ 'idempotency-key': t.Optional(t.String()) })
const ListQuery = t.Composite([
  PageQuery,
  t.Object({ q: t.Optional(t.String({ maxLength: 200 })), status: t.Optional(t.UnionEnum(['', ...SESSION_STATUSES])) }),
])
const FormBody = t.Composite([
  CreateSessionBody,
  t.Object({
    run: t.Optional(t.String()),
    reuse: t.Optional(t.String({ maxLength: 64 })),
    acknowledge_uploads: t.Optional(t.String()),
    acknowledge_web_search: t.Optional(t.String()),
  }),
])
type FormFields = Partial<Record<'question' | 'run' | 'reuse' | 'palette_id' | 'web_search' | 'acknowledge_uploads' | 'acknowledge_web_search', unknown>>
type FormDeps = Pick<SessionsModuleOptions, 'palettes' | 'sources' | 'questionMaxChars'>

/** The new-session form again, with what was sent and the message beside its field (a fragment for htmx, else the page). */
async function refusedForm({ palettes, sources, questionMaxChars }: FormDeps, actor: Actor, body: FormFields, error: { code: string; message: string }, fragment: boolean) {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const ticked = (value: unknown) => value === true || acknowledged(text(value))
  const props: NewSessionFormProps = {
    actor,
    error: error.message,
    errorField: fieldOf(error.code),
    question: text(body.question) ?? '',
    run: body.run === 'true',
    reuse: text(body.reuse),
    maxChars: questionMaxChars,
    palettes: (await palettes.list(actor).catch(() => ({ items: [] }))).items,
    paletteId: text(body.palette_id) ?? DEFAULT_PALETTE,
    sources,
    sent: { acknowledgeUploads: ticked(body.acknowledge_uploads), webSearch: ticked(body.web_search), acknowledgeWebSearch: ticked(body.acknowledge_web_search) },
  }
  return (fragment ? NewSessionForm(props) : NewSessionPage(props)) as string
}

/**
 * What the errors plugin shows for a refused new-session form (validation,
 * an upload or web search refused, rate limits, a bad CSRF token…): the form
 * with the user's text and choices intact and the message beside the field,
 * instead of an error page.
 * @example
 * errors({ logger, forms: { 'POST /sessions': newSessionFormRefusal({ viewer, palettes, sources, questionMaxChars }) } })
 */
export const newSessionFormRefusal =
  (deps: FormDeps & { viewer: Viewer }) =>
  async (error: HtmlError & { body: unknown; context: Record<string, unknown> }) => {
    const actor = (error.context.actor as Actor | undefined) ?? (await deps.viewer(error.request, error.cookie))
    // A multipart form's fields after its files were read by the upload, not the parse hook.
    const body: FormFields = { ...(error.body as FormFields | undefined), ...fieldsSent(error.request) }
    const hint =
      error.code === 'rate_limited' && body.run === 'true'
        ? ' To keep the question now, untick “Run the council right away” and send it: you can run it from its page later.'
        : ''
    return refusedForm(deps, actor, body, { code: error.code, message: `${error.message}${hint}` }, error.fragment)
  }

type PageDeps = Pick<SessionsModuleOptions, 'stores' | 'sessions' | 'jobs'>

/**
 * Everything the session page shows, in five reads: session, its documents, latest job, palette and outputs.
 * Only the page itself is an audited read (with `meta`); its own refreshes and stream are not (SPEC §5).
 */
async function loadPage({ stores, sessions, jobs }: PageDeps, actor: Actor, id: string, meta: RequestMeta | null) {
  const row = meta ? await sessions.get(actor, id, meta) : await sessions.find(actor, id)
  const [session, job] = await Promise.all([sessions.summary(row), jobs.latestForSession(id)])
  const council = await loadCouncil(stores, session)
  return { actor, session, job: job ? toJobView(job) : null, council, sources: row.webSearch || session.documents.length > 0 }
}

/**
 * A refusal of something the live section asked for (running: the council-run
 * rate limit; cancelling: a job that had just finished): the section again with
 * the message, instead of an error box in its place. `sessionOf` names the
 * session from the route's params.
 * @example
 * errors({ logger, forms: { 'POST /sessions/:id/run': progressRefusal({ viewer, stores, sessions, jobs }, async (_, params) => params.id) } })
 */
export const progressRefusal =
  (deps: PageDeps & { viewer: Viewer }, sessionOf: (actor: Actor, params: Record<string, string>) => Promise<string | null>) =>
  async (error: HtmlError & { body: unknown; context: Record<string, unknown> }) => {
    const actor = (error.context.actor as Actor | undefined) ?? (await deps.viewer(error.request, error.cookie))
    const params = (error.context.params as Record<string, string> | undefined) ?? {}
    const id = await sessionOf(actor, params).catch(() => null)
    const page = id ? await loadPage(deps, actor, id, null).catch(() => null) : null
    return page ? (SessionProgress({ ...page, error: error.message }) as string) : (ErrorNotice({ message: error.message, requestId: error.requestId }) as string)
  }

/**
 * @example
 * app.use(sessionsModule({ stores, sessions, palettes, jobs, guard, quota, events, heartbeatMs: 15_000, questionMaxChars: 8000, documents, sources }))
 */
export const sessionsModule = (options: SessionsModuleOptions) => {
  const { stores, sessions, palettes, jobs, guard, quota, events, heartbeatMs, closing, questionMaxChars, documents, sources } = options
  const pageData = (actor: Actor, id: string, meta: RequestMeta | null) => loadPage({ stores, sessions, jobs }, actor, id, meta)

  /** The HTML the live page's stream adds to an event, rendered once per event on this instance however many tabs follow it. */
  const rendered = new Map<string, Promise<string | null>>()
  const once = (key: string, render: () => Promise<string | null>) => {
    let html = rendered.get(key)
    if (!html) {
      html = render().catch(() => null)
      rendered.set(key, html)
      if (rendered.size > 2000) rendered.delete(rendered.keys().next().value!)
    }
    return html
  }
  const withHtml = (actor: Actor, session: SessionRow) => async (event: JobEvent): Promise<JobEvent> => {
    const { type, data } = event
    let html: string | null = null
    if (type === 'member' && data.state === 'succeeded' && (data.stage === 'draft' || data.stage === 'review'))
      html = await once(`${session.id}:${event.id}`, async () => {
        const row = (await stores.stageOutputs.forRun(session.id)).find((o) => o.stage === data.stage && o.agent === data.agent && o.status === 'ok')
        if (!row) return null
        return (data.stage === 'draft' ? DraftBody({ row, question: session.question, open: true }) : ReviewNote({ row })) as string
      })
    else if (type === 'done') html = await once(`${session.id}:${event.id}:${actor.userId}`, async () => SessionProgress(await pageData(actor, session.id, null)) as string)
    return html ? { ...event, data: { ...data, html } } : event
  }

  /** The form's session: with files (multipart, streamed to storage, the acknowledgement required) or without. */
  const create = async (actor: Actor, body: Static<typeof FormBody>, meta: RequestMeta, request: Request, spendQuota: (name: string, caller: Actor) => Promise<void>) => {
    if (!isMultipart(request)) {
      sourceFieldsCheck(body)
      return sessions.create(actor, body, meta)
    }
    const options = { requireAcknowledgement: true, check: sourceFieldsCheck, spendUpload: () => spendQuota('upload', actor) }
    return (await documents.createSession(actor, request, body, meta, options)).session
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
            detail: { summary: 'Drafts, reviews with parsed rankings, leaderboard, reviewer agreement, synthesis' },
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
        const filter: ListFilter = { q: query.q?.trim() || undefined, status: query.status || undefined }
        const params = pageParams(query)
        const page = filter.q || filter.status ? await sessions.search(actor, filter, params) : await sessions.list(actor, params)
        if (request.headers.get('hx-request') === 'true') return SessionRows({ actor, page, filter })
        return SessionsPage({ actor, page, filter })
      },
      { permission: 'sessions:read', query: ListQuery, detail: { hide: true } },
    )
    .get(
      '/sessions/statuses',
      async ({ actor, query }) => StatusUpdates({ sessions: await sessions.many(actor, query.ids.split(',').slice(0, 100)) }),
      { permission: 'sessions:read', query: t.Object({ ids: t.String({ maxLength: 6600 }) }), detail: { hide: true } },
    )
    .get(
      '/sessions/new',
      async ({ actor, query }) =>
        NewSessionPage({
          actor,
          maxChars: questionMaxChars,
          sources,
          palettes: (await palettes.list(actor)).items,
          paletteId: query.palette ?? DEFAULT_PALETTE,
        }),
      { permission: 'sessions:create', query: t.Object({ palette: t.Optional(t.String({ maxLength: 64 })) }), detail: { hide: true } },
    )
    .post(
      '/sessions',
      async ({ actor, body, meta, set, request, spendQuota }) => {
        const htmx = request.headers.get('hx-request') === 'true'
        // A session this form created before, whose run was refused, is run now rather than created again.
        const prior = body.reuse ? await sessions.find(actor, body.reuse).catch(() => undefined) : undefined
        const row = prior && prior.status === 'created' && prior.question === body.question.trim() ? prior : await create(actor, body, meta, request, spendQuota)
        if (body.run === 'true' && actor.permissions.has('sessions:run')) {
          try {
            await jobs.runSession(actor, row.id, undefined, meta)
          } catch (error) {
            if (!(error instanceof AppError) || error.status >= 500) throw error
            set.status = error.status
            for (const [name, value] of Object.entries(error.headers ?? {})) set.headers[name] = value
            const message = `${error.message} Your question is saved: send the form again to run it, or open it later from your sessions.`
            return refusedForm(options, actor, { ...body, ...fieldsSent(request), reuse: row.id }, { code: error.code, message }, htmx)
          }
        }
        if (htmx) {
          set.headers['hx-location'] = `/sessions/${row.id}`
          return ''
        }
        set.status = 303
        set.headers.location = `/sessions/${row.id}`
        return ''
      },
      {
        permission: 'sessions:create',
        // The form runs the council at once when "run" is ticked: that spends a council run too.
        quota: ({ body }: { body: unknown }) => ((body as { run?: string }).run === 'true' ? ['write', 'council-run'] : 'write'),
        // A multipart body streams its files to storage; only the fields before them are parsed here.
        parse: ({ request }) => parseUploadForm(request),
        body: FormBody,
        detail: { hide: true },
      },
    )
    .post(
      '/sessions/:id/delete',
      async ({ actor, params, meta, set, request }) => {
        await sessions.softDelete(actor, params.id, meta)
        if (request.headers.get('hx-request') === 'true') return ''
        set.status = 303
        set.headers.location = '/sessions'
        return ''
      },
      { permission: 'sessions:delete', quota: 'write', params: IdParams, body: t.Optional(t.Object({ _csrf: t.Optional(t.String()) })), detail: { hide: true } },
    )
    .get('/sessions/:id', async ({ actor, params, meta }) => SessionPage(await pageData(actor, params.id, meta)), {
      permission: 'sessions:read',
      params: IdParams,
      detail: { hide: true },
    })
    .get(
      '/sessions/:id/progress',
      async ({ actor, params, query }) => SessionProgress({ ...(await pageData(actor, params.id, null)), poll: query.poll === '1' }),
      { permission: 'sessions:read', params: IdParams, query: t.Object({ poll: t.Optional(t.String({ maxLength: 1 })) }), detail: { hide: true } },
    )
    .get(
      '/sessions/:id/events',
      async ({ actor, params, query, headers, request, server }) => {
        const session = await sessions.find(actor, params.id)
        const job = await jobs.get(actor, query.job)
        if (job.sessionId !== session.id) throw notFound('Job')
        const lastEventId = checkLastEventId(events, headers['last-event-id'])
        server?.timeout(request, 0)
        return jobEventStream({
          log: events,
          job,
          lastEventId,
          heartbeatMs,
          signal: closing ? AbortSignal.any([request.signal, closing]) : request.signal,
          reload: () => jobs.get(actor, job.id).catch(() => undefined),
          transform: withHtml(actor, session),
        })
      },
      {
        permission: 'sessions:read',
        params: IdParams,
        query: t.Object({ job: t.String({ maxLength: 64 }) }),
        headers: EventStreamHeaders,
        detail: { hide: true },
      },
    )
    .post(
      '/sessions/:id/run',
      async ({ actor, params, meta, set }) => {
        try {
          await jobs.runSession(actor, params.id, undefined, meta)
        } catch (error) {
          if (!(error instanceof AppError) || (error.status !== 409 && error.status !== 429)) throw error
          set.status = error.status
          for (const [name, value] of Object.entries(error.headers ?? {})) set.headers[name] = value
          return SessionProgress({ ...(await pageData(actor, params.id, null)), error: error.message })
        }
        return SessionProgress(await pageData(actor, params.id, null))
      },
      { permission: 'sessions:run', quota: 'council-run', params: IdParams, detail: { hide: true } },
    )
}
