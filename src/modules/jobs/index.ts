/** Jobs: status, events, logs and cancellation under /api/v1/jobs, and the logs page /jobs/:id/logs. */
import { Elysia, t } from 'elysia'
import type { JobEventLog } from '../../../plugins/events'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import type { AuditLog } from '../../../plugins/audit'
import { AppError, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import { ADMIN_JOB_FILTERS, AdminJobsQuery, AdminJobView, JobLogLine, JobView, type JobStatus } from './model'
import { AdminJobRows, AdminJobsPage, AdminJobsPanel } from './admin-views'
import { toJobView, type JobsService } from './service'
import { checkLastEventId, jobEventStream } from './stream'
import { JobLogsPage } from './views'

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
export const EventStreamHeaders = t.Object({ 'last-event-id': t.Optional(t.String({ maxLength: 64 })) })

export const jobsModule = ({
  jobs,
  events,
  heartbeatMs,
  closing,
  guard,
  quota,
  onCancelled,
}: {
  jobs: JobsService
  /** Where the runner's events are read from (plugins/events). */
  events: JobEventLog
  /** An idle stream sends a comment this often (EVENTS_HEARTBEAT_MS). */
  heartbeatMs: number
  /** Aborted when the server stops; ends the open streams. */
  closing?: AbortSignal
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  onCancelled?: (sessionId: string) => string
}) =>
  new Elysia({ name: 'module/jobs' })
    .use(guard)
    .use(quota)
    .group('/api/v1/jobs', { detail: { tags: ['jobs'] } }, (api) =>
      api
        .get('/:id', async ({ actor, params }) => toJobView(await jobs.get(actor, params.id)), {
          permission: 'jobs:read',
          params: IdParams,
          response: JobView,
          detail: { summary: 'A job: status, stage, progress, role, request_id' },
        })
        .get(
          '/:id/events',
          async ({ actor, params, headers, request, server }) => {
            const job = await jobs.get(actor, params.id)
            const lastEventId = checkLastEventId(events, headers['last-event-id'])
            // A stream outlives Bun's idle timeout between heartbeats.
            server?.timeout(request, 0)
            return jobEventStream({
              log: events,
              job,
              lastEventId,
              heartbeatMs,
              signal: closing ? AbortSignal.any([request.signal, closing]) : request.signal,
              reload: () => jobs.get(actor, job.id).catch(() => undefined),
            })
          },
          {
            permission: 'jobs:read',
            params: IdParams,
            headers: EventStreamHeaders,
            detail: {
              summary: "The job's events as they happen (server-sent events)",
              description:
                'text/event-stream of `stage`, `member` (an agent started, succeeded or failed, with tokens, cost and duration), `progress`, `delta` (text of a running call) and `done` (the final status; the stream ends). Every event has an `id:`; reconnecting with `Last-Event-ID` resumes after it without loss or repeats. An idle stream sends a comment heartbeat every 15 s.',
              responses: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
            },
          },
        )
        .get('/:id/logs', ({ actor, params, query }) => jobs.logs(actor, params.id, pageParams(query)), {
          permission: 'jobs:read',
          params: IdParams,
          query: PageQuery,
          response: pageOf(JobLogLine),
          detail: { summary: "The job's log lines, oldest first" },
        })
        .post(
          '/:id/cancel',
          async ({ actor, params, meta, set }) => {
            const job = await jobs.cancel(actor, params.id, meta)
            set.status = 202
            return toJobView(job)
          },
          {
            permission: 'jobs:cancel',
            quota: 'write',
            params: IdParams,
            response: { 202: JobView },
            detail: { summary: 'Cancel a queued or running job' },
          },
        ),
    )
    .get(
      '/jobs/:id/logs',
      async ({ actor, params, query }) =>
        JobLogsPage({ actor, job: toJobView(await jobs.get(actor, params.id)), page: await jobs.logs(actor, params.id, pageParams(query)) }),
      { permission: 'jobs:read', params: IdParams, query: PageQuery, detail: { hide: true } },
    )
    .post(
      '/jobs/:id/cancel',
      async ({ actor, params, meta, set }) => {
        const job = await jobs.cancel(actor, params.id, meta)
        if (job.sessionId && onCancelled) set.headers['hx-location'] = onCancelled(job.sessionId)
        return ''
      },
      { permission: 'jobs:cancel', quota: 'write', params: IdParams, detail: { hide: true } },
    )

/** Reads `status=queued,running` into the statuses asked for (all three by default); anything else is a 422 naming the field. */
function adminStatuses(raw: string | undefined): JobStatus[] {
  if (!raw?.trim()) return [...ADMIN_JOB_FILTERS]
  const asked = [...new Set(raw.split(',').map((part) => part.trim()).filter(Boolean))]
  const unknown = asked.filter((status) => !(ADMIN_JOB_FILTERS as readonly string[]).includes(status))
  if (unknown.length > 0 || asked.length === 0)
    throw unprocessable('validation_failed', `Invalid field "status": ${unknown.map((s) => `"${s}"`).join(', ') || 'nothing'} is not one of ${ADMIN_JOB_FILTERS.join(', ')}.`, [
      { field: 'status', message: `must be ${ADMIN_JOB_FILTERS.join(', ')} or several of them comma-separated` },
    ])
  return asked as JobStatus[]
}

/**
 * Everyone's jobs for operators: GET /api/admin/jobs and the page /admin/jobs
 * (admins and auditors, metrics:read), and cancelling anyone's job
 * (POST /api/admin/jobs/:id/cancel and the page's button; admins, jobs:manage).
 * @example
 * app.use(adminJobsModule({ jobs, audit, guard, quota }))
 */
export const adminJobsModule = ({ jobs, audit, guard, quota }: { jobs: JobsService; audit: AuditLog; guard: ReturnType<typeof rbac>; quota: QuotaPlugin }) => {
  const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'
  const panel = async (actor: Actor, statuses: JobStatus[], outcome: { error?: string; done?: string } = {}) => ({
    actor,
    statuses,
    page: await jobs.everyone(statuses, pageParams({})),
    counts: await jobs.statusCounts(),
    ...outcome,
  })
  return new Elysia({ name: 'module/admin-jobs' })
    .use(guard)
    .use(quota)
    .group('/api/admin/jobs', { detail: { tags: ['admin'] } }, (api) =>
      api
        .get('', ({ query }) => jobs.everyone(adminStatuses(query.status), pageParams(query)), {
          permission: 'metrics:read',
          query: AdminJobsQuery,
          response: pageOf(AdminJobView),
          detail: { summary: "Everyone's jobs by status (queued, running, failed; comma-separated for several), newest first — metadata only, no content" },
        })
        .post('/:id/cancel', async ({ actor, params, meta }) => toAdminJob(await jobs.cancelAny(actor, params.id, meta)), {
          permission: 'jobs:manage',
          quota: 'write',
          params: IdParams,
          response: t.Object({ id: t.String(), status: t.String(), cancel_requested: t.Boolean() }),
          detail: { summary: "Cancel anyone's queued or running job (audited as job.cancel); 409 job_finished when it has ended" },
        }),
    )
    .get(
      '/admin/jobs',
      async ({ actor, query, meta, request }) => {
        const statuses = adminStatuses(query.status)
        if (isHtmx(request) && query.cursor) return AdminJobRows({ actor, statuses, page: await jobs.everyone(statuses, pageParams(query)) })
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'page:/admin/jobs', metadata: { statuses } })
        const props = await panel(actor, statuses)
        return isHtmx(request) ? AdminJobsPanel(props) : AdminJobsPage(props)
      },
      { permission: 'metrics:read', query: AdminJobsQuery, detail: { hide: true } },
    )
    .post(
      '/admin/jobs/:id/cancel',
      async ({ actor, params, query, meta, request, set }) => {
        const statuses = adminStatuses(query.status)
        try {
          const job = await jobs.cancelAny(actor, params.id, meta)
          if (!isHtmx(request)) {
            set.status = 303
            set.headers.location = `/admin/jobs${query.status ? `?status=${encodeURIComponent(query.status)}` : ''}`
            return ''
          }
          return AdminJobsPanel(await panel(actor, statuses, { done: job.status === 'cancelled' ? `Cancelled job ${job.id}.` : `Asked job ${job.id} to stop; it ends after the call in flight.` }))
        } catch (error) {
          if (!(error instanceof AppError) || ![404, 409].includes(error.status)) throw error
          set.status = error.status
          const props = await panel(actor, statuses, { error: error.message })
          return isHtmx(request) ? AdminJobsPanel(props) : AdminJobsPage(props)
        }
      },
      { permission: 'jobs:manage', quota: 'write', params: IdParams, query: t.Object({ status: AdminJobsQuery.properties.status }), body: t.Optional(t.Object({ _csrf: t.Optional(t.String()) })), detail: { hide: true } },
    )
}

const toAdminJob = (job: { id: string; status: string; cancelRequested: boolean }) => ({ id: job.id, status: job.status, cancel_requested: job.cancelRequested })
