/** Response schemas of the admin metrics API (/api/admin/metrics/summary, /api/admin/metrics/time_series). */
import { t, type Static } from 'elysia'

export const WINDOWS = ['24h', '7d', '30d', '90d'] as const
/** The ranges the /admin page switches between. */
export const PAGE_WINDOWS = ['7d', '30d', '90d'] as const
export const METRICS = ['sessions', 'tokens', 'cost', 'errors', 'active_users', 'duration_p95'] as const
export const GROUP_BYS = ['model', 'stage', 'endpoint'] as const

export type Window = (typeof WINDOWS)[number]
export type Metric = (typeof METRICS)[number]
export type GroupBy = (typeof GROUP_BYS)[number]

/** Plain strings here, checked by the service, so a bad value answers 422 naming the field and the values it may take. */
export const SummaryQuery = t.Object({
  window: t.Optional(t.String({ maxLength: 16, description: `One of ${WINDOWS.join(', ')} (default 7d); days are UTC days ending today` })),
})

export const TimeSeriesQuery = t.Object({
  metric: t.Optional(t.String({ maxLength: 32, description: `Required: one of ${METRICS.join(', ')}` })),
  window: SummaryQuery.properties.window,
  group_by: t.Optional(t.String({ maxLength: 16, description: `One of ${GROUP_BYS.join(', ')}; which apply depends on the metric` })),
})

const Ms = t.Nullable(t.Number({ description: 'Milliseconds, from log-spaced histogram buckets; null without data' }))
const Rate = t.Number({ description: 'Fraction 0–1' })

export const MetricsSummary = t.Object({
  window: t.String(),
  from: t.String({ description: 'First day (or hour) of the window, UTC' }),
  to: t.String({ description: 'Last day (or hour), UTC: today (this hour) included' }),
  timezone: t.Literal('UTC'),
  generated_at: t.String({ format: 'date-time' }),
  usage: t.Object({
    sessions_created: t.Number(),
    councils_run: t.Number(),
    requests: t.Number(),
    active_users: t.Object({
      daily: t.Number({ description: 'Distinct users active today' }),
      weekly: t.Number({ description: 'Distinct users active in the last 7 days' }),
      window: t.Number({ description: 'Distinct users active in the window' }),
    }),
    llm_calls: t.Number(),
    tokens_in: t.Number(),
    tokens_out: t.Number(),
    tokens: t.Number(),
    cost_usd: t.Number(),
    by_model: t.Array(t.Object({ model: t.String(), calls: t.Number(), errors: t.Number(), tokens_in: t.Number(), tokens_out: t.Number(), cost_usd: t.Number() })),
  }),
  performance: t.Object({
    stages: t.Array(t.Object({ stage: t.String(), calls: t.Number(), p50_ms: Ms, p95_ms: Ms })),
    jobs: t.Array(t.Object({ kind: t.String(), finished: t.Number(), p50_ms: Ms, p95_ms: Ms })),
    requests: t.Object({ p50_ms: Ms, p95_ms: Ms }),
  }),
  reliability: t.Object({
    requests: t.Number(),
    server_errors: t.Number(),
    client_errors: t.Number(),
    error_rate: Rate,
    by_endpoint: t.Array(
      t.Object({ endpoint: t.String(), requests: t.Number(), server_errors: t.Number(), client_errors: t.Number(), error_rate: Rate, p95_ms: Ms }),
    ),
    by_stage: t.Array(t.Object({ stage: t.String(), calls: t.Number(), errors: t.Number(), error_rate: Rate })),
    jobs: t.Array(t.Object({ kind: t.String(), finished: t.Number(), failed: t.Number(), failure_rate: Rate })),
    top_errors: t.Array(t.Object({ message: t.String({ description: 'Redacted: no emails, URLs, ids or numbers' }), count: t.Number() })),
  }),
  jobs: t.Object({
    active: t.Nullable(t.Number({ description: 'Running now (null when the queue did not answer)' })),
    queued: t.Nullable(t.Number({ description: 'Waiting now' })),
  }),
  budgets: t.Object({
    by_role: t.Array(
      t.Object({
        role: t.String(),
        tokens: t.Number({ description: 'In the window' }),
        cost_usd: t.Number(),
        today_tokens: t.Number(),
        today_cost_usd: t.Number(),
        daily_tokens_per_user: t.Number({ description: 'The daily budget a user of this role gets (role override or default)' }),
        daily_cost_usd_per_user: t.Number(),
      }),
    ),
  }),
})

const Point = t.Object({ date: t.String({ description: 'YYYY-MM-DD (or YYYY-MM-DDTHH for 24h), UTC' }), value: t.Nullable(t.Number()) })

export const TimeSeries = t.Object({
  metric: t.String(),
  window: t.String(),
  interval: t.UnionEnum(['day', 'hour']),
  group_by: t.Nullable(t.String()),
  unit: t.UnionEnum(['count', 'tokens', 'usd', 'users', 'ms']),
  timezone: t.Literal('UTC'),
  from: t.String(),
  to: t.String(),
  points: t.Array(Point, { description: 'The metric over everything, one point per day (hour), zero-filled' }),
  series: t.Array(t.Object({ key: t.String(), points: t.Array(Point) }), { description: 'One per group_by value; empty without group_by' }),
})

export type MetricsSummaryView = Static<typeof MetricsSummary>
export type TimeSeriesView = Static<typeof TimeSeries>
