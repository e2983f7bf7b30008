/** Jobs: status, logs and cancellation under /api/v1/jobs, and the logs page /jobs/:id/logs. */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { JobLogLine, JobView } from './model'
import { toJobView, type JobsService } from './service'
import { JobLogsPage } from './views'

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

export const jobsModule = ({
  jobs,
  guard,
  quota,
  onCancelled,
}: {
  jobs: JobsService
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
