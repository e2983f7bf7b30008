/**
 * The admin dashboard and its metrics API: GET /admin (page; the range as an
 * htmx fragment), GET /api/admin/metrics/summary and
 * GET /api/admin/metrics/time_series (SPEC §4). Admins and auditors only
 * (admin:view for the page, metrics:read for the API); viewing the page is audited.
 */
import { Elysia } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import type { rbac } from '../../../plugins/rbac'
import { MetricsSummary, SummaryQuery, TimeSeries, TimeSeriesQuery } from './model'
import type { MetricsService } from './service'
import { DashboardBody, DashboardPage } from './views'

export interface UsageModuleOptions {
  metrics: MetricsService
  audit: AuditLog
  guard: ReturnType<typeof rbac>
}

/**
 * @example
 * app.use(usageModule({ metrics: createMetricsService({ … }), audit, guard }))
 */
export const usageModule = ({ metrics, audit, guard }: UsageModuleOptions) =>
  new Elysia({ name: 'module/usage' })
    .use(guard)
    .group('/api/admin/metrics', { detail: { tags: ['admin'] } }, (api) =>
      api
        .get('/summary', ({ query }) => metrics.summary(query.window), {
          permission: 'metrics:read',
          query: SummaryQuery,
          response: MetricsSummary,
          detail: { summary: 'Usage, cost, performance and reliability over a window (24h, 7d, 30d, 90d), from the usage rollups' },
        })
        .get('/time_series', ({ query }) => metrics.timeSeries(query), {
          permission: 'metrics:read',
          query: TimeSeriesQuery,
          response: TimeSeries,
          detail: {
            summary:
              'A daily (hourly for 24h) series of sessions, tokens, cost, errors, active_users or duration_p95, optionally grouped by model, stage or endpoint; 422 names a bad field',
          },
        }),
    )
    .get(
      '/admin',
      async ({ actor, meta, query, request }) => {
        const data = await metrics.dashboard(query.window)
        if (request.headers.get('hx-request') === 'true') return DashboardBody({ data })
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'page:/admin', metadata: { window: data.summary.window } })
        return DashboardPage({ actor, data })
      },
      { permission: 'admin:view', query: SummaryQuery, detail: { hide: true } },
    )
