/**
 * The admin dashboard (/admin): the admin sections' links, then usage, cost,
 * performance and reliability for a range (7d / 30d / 90d) as SVG charts
 * (views/components/chart.tsx), each with its table. The range links swap
 * only #dashboard through htmx and update the URL; without script they are
 * plain links to the same page.
 */
import { BarChart, LineChart, StackedBarChart } from '../../../views/components/chart'
import { Layout } from '../../../views/layout'
import type { Actor } from '../../identity'
import { AdminLinks } from '../admin/views'
import { PAGE_WINDOWS } from './model'
import type { MetricsService } from './service'

type Dashboard = Awaited<ReturnType<MetricsService['dashboard']>>

const count = (n: number) => Math.round(n).toLocaleString('en-US')
const compact = (n: number) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : count(n)
const dollars = (n: number) => (n >= 100 ? `$${count(n)}` : n >= 1 ? `$${n.toFixed(2)}` : n > 0 ? `$${n.toPrecision(2)}` : '$0')
const duration = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)
const percent = (r: number) => `${(r * 100).toFixed(r > 0 && r < 0.01 ? 2 : 1)}%`

/** One series of a bar chart: its name, and how a row gives its bar (null: no bar). */
interface Bars<Row> {
  name: string
  value: (row: Row) => number | null
}
const PERCENTILES: Array<Bars<{ p50_ms: number | null; p95_ms: number | null }>> = [
  { name: 'p50', value: (row) => row.p50_ms },
  { name: 'p95', value: (row) => row.p95_ms },
]
const ERROR_RATE: Array<Bars<{ error_rate: number }>> = [{ name: 'Error rate', value: (row) => row.error_rate }]

const RANGE_LABEL: Record<(typeof PAGE_WINDOWS)[number], string> = { '7d': '7 days', '30d': '30 days', '90d': '90 days' }

function Tile({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <div class="tile">
      <div class="tile-label" safe>
        {label}
      </div>
      <div class="tile-value" safe>
        {value}
      </div>
      {note ? (
        <div class="muted small" safe>
          {note}
        </div>
      ) : (
        ''
      )}
    </div>
  )
}

/** The range switch: links that swap the dashboard in place and push the URL. */
function Ranges({ current }: { current: string }) {
  return (
    <nav class="ranges" aria-label="Range">
      {PAGE_WINDOWS.map((w) => (
        <a
          href={`/admin?window=${w}`}
          hx-get={`/admin?window=${w}`}
          hx-target="#dashboard"
          hx-swap="outerHTML"
          hx-push-url="true"
          aria-current={w === current ? 'true' : undefined}
          class={w === current ? 'button' : 'button secondary'}
          safe
        >
          {RANGE_LABEL[w]}
        </a>
      ))}
    </nav>
  )
}

/** A card holding a bar chart of `rows`, one label per row (`label`) and one bar per row and entry of `bars`. */
function BarCard<Row>({ rows, label, bars, ...chart }: { id: string; title: string; description: string; format: (value: number) => string; labelHeading: string; rows: Row[]; label: (row: Row) => string; bars: Array<Bars<NoInfer<Row>>> }) {
  return (
    <div class="card">
      <BarChart {...chart} labels={rows.map((row) => label(row))} series={bars.map((bar) => ({ name: bar.name, values: rows.map((row) => bar.value(row)) }))} />
    </div>
  )
}

/** The fragment htmx swaps when the range changes. */
export function DashboardBody({ data }: { data: Dashboard }) {
  const s = data.summary
  const range = RANGE_LABEL[s.window as keyof typeof RANGE_LABEL] ?? s.window
  return (
    <section id="dashboard" aria-live="polite">
      <Ranges current={s.window} />
      <p class="muted small">
        <span safe>{`${s.from} to ${s.to}, UTC days (today included).`}</span> Figures come from usage rollups updated about every second.
      </p>
      <div class="tiles">
        <Tile label="Sessions created" value={count(s.usage.sessions_created)} note={`${count(s.usage.councils_run)} councils run`} />
        <Tile label="Active users" value={`${count(s.usage.active_users.daily)} today`} note={`${count(s.usage.active_users.weekly)} this week · ${count(s.usage.active_users.window)} in ${range}`} />
        <Tile label="Tokens" value={compact(s.usage.tokens)} note={`${count(s.usage.llm_calls)} LLM calls`} />
        <Tile label="Cost" value={dollars(s.usage.cost_usd)} note={`over ${range}`} />
        <Tile label="Server error rate" value={percent(s.reliability.error_rate)} note={`${count(s.reliability.server_errors)} of ${count(s.reliability.requests)} requests`} />
        <Tile
          label="Jobs now"
          value={s.jobs.active === null ? 'queue unreachable' : `${count(s.jobs.active)} running`}
          note={s.jobs.queued === null ? undefined : `${count(s.jobs.queued)} queued`}
        />
      </div>

      <h2>Usage</h2>
      <div class="chart-grid">
        <div class="card">
          <StackedBarChart
            id="chart-sessions"
            title="Sessions created per day"
            description={`Sessions created each UTC day over the last ${range}: ${count(s.usage.sessions_created)} in all.`}
            labels={data.days}
            series={[{ name: 'Sessions', values: data.sessions }]}
            format={count}
          />
        </div>
        <div class="card">
          <LineChart
            id="chart-active-users"
            title="Daily active users"
            description={`People who made a request or ran a job each UTC day; ${count(s.usage.active_users.weekly)} distinct in the last 7 days.`}
            labels={data.days}
            series={[{ name: 'Active users', values: data.activeUsers }]}
            format={count}
          />
        </div>
        <div class="card">
          <StackedBarChart
            id="chart-tokens"
            title="Tokens per day by model"
            description={`Prompt and completion tokens each day, stacked by model: ${compact(s.usage.tokens)} in all.`}
            labels={data.days}
            series={data.tokensByModel}
            format={compact}
          />
        </div>
        <div class="card">
          <StackedBarChart
            id="chart-cost"
            title="Cost per day by model"
            description={`Cost in USD from the price table each day, stacked by model: ${dollars(s.usage.cost_usd)} in all.`}
            labels={data.days}
            series={data.costByModel}
            format={dollars}
          />
        </div>
        <BarCard
          id="chart-cost-model"
          title="Cost by model"
          description={`Cost in USD per model over the last ${range}.`}
          rows={s.usage.by_model}
          label={(m) => m.model}
          bars={[{ name: 'Cost (USD)', value: (m) => m.cost_usd }]}
          format={dollars}
          labelHeading="Model"
        />
      </div>

      <h2>Performance</h2>
      <div class="chart-grid">
        <BarCard
          id="chart-stage-duration"
          title="Duration per stage (p50, p95)"
          description="Median and 95th percentile duration of LLM calls per council stage, from histogram buckets."
          rows={s.performance.stages}
          label={(st) => st.stage}
          bars={PERCENTILES}
          format={duration}
          labelHeading="Stage"
        />
        <BarCard
          id="chart-job-duration"
          title="Job duration (p50, p95)"
          description="Median and 95th percentile time from a job's first start to its end, per kind of job."
          rows={s.performance.jobs}
          label={(j) => j.kind}
          bars={PERCENTILES}
          format={duration}
          labelHeading="Job kind"
        />
      </div>

      <h2>Reliability</h2>
      <div class="chart-grid">
        <BarCard
          id="chart-endpoint-errors"
          title="Server error rate by endpoint"
          description="Share of requests answered 5xx per route, the ten with the most errors (then the busiest)."
          rows={s.reliability.by_endpoint.slice(0, 10)}
          label={(e) => e.endpoint}
          bars={ERROR_RATE}
          format={percent}
          labelHeading="Endpoint"
        />
        <BarCard
          id="chart-stage-errors"
          title="Error rate by stage"
          description="Share of LLM calls that failed per council stage."
          rows={s.reliability.by_stage}
          label={(st) => st.stage}
          bars={ERROR_RATE}
          format={percent}
          labelHeading="Stage"
        />
      </div>
      <div class="card" id="top-errors">
        <h3>Top errors</h3>
        {s.reliability.top_errors.length === 0 ? (
          <p class="muted">No failed jobs in this range.</p>
        ) : (
          <div class="table-scroll">
            <table class="small">
              <thead>
                <tr>
                  <th>Message (redacted)</th>
                  <th class="num">Jobs</th>
                </tr>
              </thead>
              <tbody>
                {s.reliability.top_errors.map((e) => (
                  <tr>
                    <td>
                      <code safe>{e.message}</code>
                    </td>
                    <td class="num" safe>
                      {count(e.count)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>

      <h2>Budgets by role</h2>
      <div class="card" id="budget-roles">
        <BarChart
          id="chart-budget-roles"
          title="Cost today by role"
          description="Cost in USD spent today by people acting under each role; the table gives each role's per-user daily budget."
          labels={s.budgets.by_role.map((r) => r.role)}
          series={[{ name: 'Cost today (USD)', values: s.budgets.by_role.map((r) => r.today_cost_usd) }]}
          format={dollars}
          labelHeading="Role"
        />
        <div class="table-scroll">
          <table class="small">
            <thead>
              <tr>
                <th>Role</th>
                <th class="num">Tokens today</th>
                <th class="num">Cost today</th>
                <th class="num" safe>
                  {`Cost (${range})`}
                </th>
                <th class="num">Daily budget per user</th>
              </tr>
            </thead>
            <tbody>
              {s.budgets.by_role.map((r) => (
                <tr>
                  <td safe>{r.role}</td>
                  <td class="num" safe>
                    {count(r.today_tokens)}
                  </td>
                  <td class="num" safe>
                    {dollars(r.today_cost_usd)}
                  </td>
                  <td class="num" safe>
                    {dollars(r.cost_usd)}
                  </td>
                  <td class="num" safe>
                    {`${compact(r.daily_tokens_per_user)} tokens · ${dollars(r.daily_cost_usd_per_user)}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  )
}

export function DashboardPage({ actor, data }: { actor: Actor; data: Dashboard }) {
  return (
    <Layout title="Admin" actor={actor} path="/admin">
      <link rel="stylesheet" href="/assets/charts.css" />
      <h1>Administration</h1>
      <AdminLinks actor={actor} />
      <DashboardBody data={data} />
    </Layout>
  )
}
