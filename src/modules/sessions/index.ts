/** Sessions: the JSON API under /api/v1/sessions and the pages under /sessions. */
import { Elysia, t } from 'elysia'
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
import { toSummary, type SessionsService } from './service'
import { fieldOf, NewSessionForm, NewSessionPage, SessionPage, SessionProgress, SessionRows, SessionsPage, StatusUpdates, type ListFilter } from './views'

export interface SessionsModuleOptions {
  /** The results read stage outputs and the palette's chair. */
  stores: Pick<Stores, 'catalog' | 'stageOutputs'>
  sessions: SessionsService
  jobs: JobsService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  /** The live page follows its job's events (plugins/events). */
  events: JobEventLog
  heartbeatMs: number
  /** Aborted when the server stops; ends the open streams. */
  closing?: AbortSignal
  questionMaxChars: number
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
const RunHeaders = t.Object({ 'idempotency-key': t.Optional(t.String()) })
const ListQuery = t.Composite([
  PageQuery,
  t.Object({ q: t.Optional(t.String({ maxLength: 200 })), status: t.Optional(t.UnionEnum(['', ...SESSION_STATUSES])) }),
])
const FormBody = t.Composite([CreateSessionBody, t.Object({ run: t.Optional(t.String()), reuse: t.Optional(t.String({ maxLength: 64 })) })])
type FormFields = { question?: unknown; run?: unknown; reuse?: unknown }

/** The new-session form again, with what was sent and the message beside its field (a fragment for htmx, else the page). */
function refusedForm(actor: Actor, body: FormFields | undefined, error: { code: string; message: string }, fragment: boolean, maxChars: number) {
  const props = {
    actor,
    error: error.message,
    errorField: fieldOf(error.code),
    question: typeof body?.question === 'string' ? body.question : '',
    run: body?.run === 'true',
    reuse: typeof body?.reuse === 'string' ? body.reuse : undefined,
    maxChars,
  }
  return (fragment ? NewSessionForm(props) : NewSessionPage(props)) as string
}

/**
 * What the errors plugin shows for a refused new-session form (validation,
 * rate limits, a bad CSRF token…): the form with the user's text intact and the
 * message beside the field, instead of an error page.
 * @example
 * errors({ logger, forms: { 'POST /sessions': newSessionFormRefusal({ viewer, questionMaxChars }) } })
 */
export const newSessionFormRefusal =
  ({ viewer, questionMaxChars }: { viewer: Viewer; questionMaxChars: number }) =>
  async (error: HtmlError & { body: unknown; context: Record<string, unknown> }) => {
    const actor = (error.context.actor as Actor | undefined) ?? (await viewer(error.request, error.cookie))
    const body = error.body as FormFields | undefined
    const hint =
      error.code === 'rate_limited' && body?.run === 'true'
        ? ' To keep the question now, untick “Run the council right away” and send it: you can run it from its page later.'
        : ''
    return refusedForm(actor, body, { code: error.code, message: `${error.message}${hint}` }, error.fragment, questionMaxChars)
  }

type PageDeps = Pick<SessionsModuleOptions, 'stores' | 'sessions' | 'jobs'>

/**
 * Everything the session page shows, in four reads: session, latest job, palette and outputs.
 * Only the page itself is an audited read (with `meta`); its own refreshes and stream are not (SPEC §5).
 */
async function loadPage({ stores, sessions, jobs }: PageDeps, actor: Actor, id: string, meta: RequestMeta | null) {
  const row = meta ? await sessions.get(actor, id, meta) : await sessions.find(actor, id)
  const session = toSummary(row)
  const [job, council] = await Promise.all([jobs.latestForSession(id), loadCouncil(stores, session)])
  return { actor, session, job: job ? toJobView(job) : null, council }
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
 * app.use(sessionsModule({ stores, sessions, jobs, guard, quota, events, heartbeatMs: 15_000, questionMaxChars: 8000 }))
 */
export const sessionsModule = ({ stores, sessions, jobs, guard, quota, events, heartbeatMs, closing, questionMaxChars }: SessionsModuleOptions) => {
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

  return new Elysia({ name: 'module/sessions' })
    .use(guard)
    .use(quota)
    .group('/api/v1/sessions', { detail: { tags: ['sessions'] } }, (api) =>
      api
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            if ('files' in (body as Record<string, unknown>))
              throw new AppError(422, 'uploads_unavailable', 'Document uploads are not available on this server yet; send the question alone.')
            const row = await sessions.create(actor, body, meta)
            set.status = 201
            set.headers.location = `/api/v1/sessions/${row.id}`
            return toSummary(row)
          },
          {
            permission: 'sessions:create',
            quota: 'write',
            body: CreateSessionBody,
            response: { 201: SessionSummary },
            detail: { summary: 'Create a session (JSON, form or multipart)' },
          },
        )
        .get('', ({ actor, query }) => sessions.list(actor, pageParams(query)), {
          permission: 'sessions:read',
          query: PageQuery,
          response: pageOf(SessionSummary),
          detail: { summary: "The caller's sessions, newest first" },
        })
        .get('/:id', async ({ actor, params, meta }) => toSummary(await sessions.get(actor, params.id, meta)), {
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
    .get('/sessions/new', ({ actor }) => NewSessionPage({ actor, maxChars: questionMaxChars }), { permission: 'sessions:create', detail: { hide: true } })
    .post(
      '/sessions',
      async ({ actor, body, meta, set, request }) => {
        const htmx = request.headers.get('hx-request') === 'true'
        // A session this form created before, whose run was refused, is run now rather than created again.
        const prior = body.reuse ? await sessions.find(actor, body.reuse).catch(() => undefined) : undefined
        const row = prior && prior.status === 'created' && prior.question === body.question.trim() ? prior : await sessions.create(actor, body, meta)
        if (body.run === 'true' && actor.permissions.has('sessions:run')) {
          try {
            await jobs.runSession(actor, row.id, undefined, meta)
          } catch (error) {
            if (!(error instanceof AppError) || error.status >= 500) throw error
            set.status = error.status
            for (const [name, value] of Object.entries(error.headers ?? {})) set.headers[name] = value
            const message = `${error.message} Your question is saved: send the form again to run it, or open it later from your sessions.`
            return refusedForm(actor, { ...body, reuse: row.id }, { code: error.code, message }, htmx, questionMaxChars)
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
