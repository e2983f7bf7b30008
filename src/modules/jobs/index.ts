/** Jobs: status, events, logs and cancellation under /api/v1/jobs, and the logs page /jobs/:id/logs. */
import { Elysia, t } from 'elysia'
import type { JobEventLog } from '../../../plugins/events'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { JobLogLine, JobView } from './model'
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
