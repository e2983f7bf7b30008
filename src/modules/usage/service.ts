/**
 * The admin metrics (SPEC §4 /api/admin/metrics/summary and /time_series, and
 * the /admin dashboard): read from the usage rollups only — a window of day
 * rows (hour rows for 24h), a few thousand rows at ten million events — with
 * percentiles from their summed histogram buckets.
 */
import { unprocessable } from '../../errors'
import type { BudgetLedger } from '../budgets/store'
import { resolveLimits } from '../budgets/limits'
import { HISTOGRAM_BUCKETS, quantile } from './histogram'
import { GROUP_BYS, METRICS, PAGE_WINDOWS, WINDOWS, type GroupBy, type Metric, type MetricsSummaryView, type TimeSeriesView, type Window } from './model'
import { emptyCounters, type RollupCounters, type RollupSum, type UsageDim, type UsageGrain, type UsageKind, type UsageStore } from './store'

export interface MetricsServiceDeps {
  store: UsageStore
  /** Role budget overrides (the ledger's limits table). */
  limits: Pick<BudgetLedger, 'limitsFor'>
  /** DAILY_TOKEN_BUDGET, DAILY_COST_BUDGET_USD (micro-USD). */
  defaults: { tokens: number; cost: number }
  /** The job queue's counts now (plugins/jobs health): waiting, active. */
  queueHealth: () => Promise<Record<string, unknown>>
  now?: () => Date
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const hourOf = (ms: number) => new Date(ms).toISOString().slice(0, 13)

interface ResolvedWindow {
  name: Window
  grain: UsageGrain
  /** Every bucket of the window, oldest first (points are zero-filled over them). */
  buckets: string[]
  from: string
  to: string
  /** The UTC days the window touches (active users are counted per day). */
  days: { from: string; to: string }
}

const invalid = (field: string, message: string) => unprocessable('validation_failed', `Invalid query field "${field}": ${message}.`, [{ field, message }])

function oneOf<T extends string>(field: string, allowed: readonly T[], raw: string | undefined, fallback?: T): T {
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback
    throw invalid(field, `required; use one of ${allowed.join(', ')}`)
  }
  if (!(allowed as readonly string[]).includes(raw)) throw invalid(field, `use one of ${allowed.join(', ')} (got "${raw.slice(0, 32)}")`)
  return raw as T
}

function resolveWindow(name: Window, now: Date): ResolvedWindow {
  const at = now.getTime()
  if (name === '24h') {
    const buckets = Array.from({ length: 24 }, (_, i) => hourOf(at - (23 - i) * HOUR_MS))
    return { name, grain: 'hour', buckets, from: buckets[0]!, to: buckets[23]!, days: { from: buckets[0]!.slice(0, 10), to: dayOf(at) } }
  }
  const n = Number(name.slice(0, -1))
  const buckets = Array.from({ length: n }, (_, i) => dayOf(at - (n - 1 - i) * DAY_MS))
  return { name, grain: 'day', buckets, from: buckets[0]!, to: buckets[n - 1]!, days: { from: buckets[0]!, to: buckets[n - 1]! } }
}

const usd = (micro: number) => Math.round(micro) / 1_000_000
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0)
const pct = (c: RollupCounters, q: number) => quantile(c.hist, q)

function merge(into: RollupCounters, add: RollupCounters): RollupCounters {
  into.count += add.count
  into.errors += add.errors
  into.clientErrors += add.clientErrors
  into.tokensIn += add.tokensIn
  into.tokensOut += add.tokensOut
  into.costMicroUsd += add.costMicroUsd
  into.durationMs += add.durationMs
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) into.hist[i]! += add.hist[i] ?? 0
  return into
}

/** What a metric reads and how a bucket's counters become its value. */
interface MetricSpec {
  unit: TimeSeriesView['unit']
  kind: UsageKind
  /** The dimension read for each group_by it supports (absent: not supported). */
  groups: Partial<Record<GroupBy, UsageDim>>
  value: (c: RollupCounters) => number | null
}

const SPECS: Record<Exclude<Metric, 'active_users'>, MetricSpec> = {
  sessions: { unit: 'count', kind: 'session', groups: {}, value: (c) => c.count },
  tokens: { unit: 'tokens', kind: 'llm', groups: { model: 'model', stage: 'stage' }, value: (c) => c.tokensIn + c.tokensOut },
  cost: { unit: 'usd', kind: 'llm', groups: { model: 'model', stage: 'stage' }, value: (c) => usd(c.costMicroUsd) },
  // Without group_by: 5xx responses plus failed jobs (read from both, see timeSeries); by endpoint: 5xx; by stage or model: failed LLM calls.
  errors: { unit: 'count', kind: 'request', groups: { endpoint: 'endpoint', stage: 'stage', model: 'model' }, value: (c) => c.errors },
  duration_p95: { unit: 'ms', kind: 'llm', groups: { endpoint: 'endpoint', stage: 'stage', model: 'model' }, value: (c) => pct(c, 0.95) },
}

/** The kind a grouped metric reads: request figures by endpoint, LLM calls by stage or model. */
const kindFor = (spec: MetricSpec, group: GroupBy | null): UsageKind => (group === 'endpoint' ? 'request' : group ? (spec.kind === 'session' ? 'session' : 'llm') : spec.kind)

/**
 * @example
 * const metrics = createMetricsService({ store: stores.usage, limits: stores.budgets, defaults, queueHealth: () => queue.health() })
 * await metrics.summary('30d')
 */
export function createMetricsService({ store, limits, defaults, queueHealth, now = () => new Date() }: MetricsServiceDeps) {
  const queueNow = async (): Promise<{ active: number | null; queued: number | null }> => {
    let timer: Timer | undefined
    const health = await Promise.race([
      queueHealth().catch(() => null),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 500))),
    ]).finally(() => clearTimeout(timer))
    const n = (value: unknown) => (typeof value === 'number' ? value : null)
    return { active: n(health?.active), queued: n(health?.waiting) }
  }

  const summarize = async (w: ResolvedWindow, at: Date): Promise<{ view: MetricsSummaryView; active: { distinct: number; days: Array<{ day: string; users: number }> } }> => {
    const today = dayOf(at.getTime())
    const weekFrom = dayOf(at.getTime() - 6 * DAY_MS)
    const [totals, todays, days, inWindow, weekly, jobsNow] = await Promise.all([
      store.totals({ grain: w.grain, from: w.from, to: w.to }),
      store.totals({ grain: 'day', from: today, to: today }),
      store.activeUsers(w.days.from, w.days.to),
      store.activeSince(w.days.from),
      w.days.from === weekFrom ? null : store.activeSince(weekFrom),
      queueNow(),
    ])
    const active = { distinct: inWindow, days }
    const pick = (rows: RollupSum[], kind: UsageKind, dim: UsageDim) => rows.filter((r) => r.kind === kind && r.dim === dim)
    const one = (rows: RollupSum[], kind: UsageKind, dim: UsageDim = 'total') => pick(rows, kind, dim)[0] ?? { ...emptyCounters(HISTOGRAM_BUCKETS), kind, dim, key: '' }
    const llm = one(totals, 'llm')
    const requests = one(totals, 'request')
    const byCount = (a: RollupSum, b: RollupSum) => b.count - a.count || a.key.localeCompare(b.key)

    const roleRows = pick(totals, 'llm', 'role')
    const todayRoles = new Map(pick(todays, 'llm', 'role').map((r) => [r.key, r]))
    const roles = [...new Set([...roleRows.map((r) => r.key), ...todayRoles.keys()])].sort()
    const overrides = roles.length > 0 ? await limits.limitsFor([], roles) : []

    const view: MetricsSummaryView = {
      window: w.name,
      from: w.from,
      to: w.to,
      timezone: 'UTC',
      generated_at: at.toISOString(),
      usage: {
        sessions_created: one(totals, 'session').count,
        councils_run: pick(totals, 'job', 'stage').find((r) => r.key === 'council')?.count ?? 0,
        requests: requests.count,
        active_users: {
          daily: active.days.find((d) => d.day === today)?.users ?? 0,
          weekly: weekly ?? inWindow,
          window: active.distinct,
        },
        llm_calls: llm.count,
        tokens_in: llm.tokensIn,
        tokens_out: llm.tokensOut,
        tokens: llm.tokensIn + llm.tokensOut,
        cost_usd: usd(llm.costMicroUsd),
        by_model: pick(totals, 'llm', 'model')
          .sort((a, b) => b.costMicroUsd - a.costMicroUsd || a.key.localeCompare(b.key))
          .map((r) => ({ model: r.key, calls: r.count, errors: r.errors, tokens_in: r.tokensIn, tokens_out: r.tokensOut, cost_usd: usd(r.costMicroUsd) })),
      },
      performance: {
        stages: pick(totals, 'llm', 'stage')
          .sort(byCount)
          .map((r) => ({ stage: r.key, calls: r.count, p50_ms: pct(r, 0.5), p95_ms: pct(r, 0.95) })),
        jobs: pick(totals, 'job', 'stage')
          .sort(byCount)
          .map((r) => ({ kind: r.key, finished: r.count, p50_ms: pct(r, 0.5), p95_ms: pct(r, 0.95) })),
        requests: { p50_ms: pct(requests, 0.5), p95_ms: pct(requests, 0.95) },
      },
      reliability: {
        requests: requests.count,
        server_errors: requests.errors,
        client_errors: requests.clientErrors,
        error_rate: rate(requests.errors, requests.count),
        by_endpoint: pick(totals, 'request', 'endpoint')
          .sort((a, b) => b.errors - a.errors || b.count - a.count || a.key.localeCompare(b.key))
          .slice(0, 25)
          .map((r) => ({
            endpoint: r.key,
            requests: r.count,
            server_errors: r.errors,
            client_errors: r.clientErrors,
            error_rate: rate(r.errors, r.count),
            p95_ms: pct(r, 0.95),
          })),
        by_stage: pick(totals, 'llm', 'stage')
          .sort(byCount)
          .map((r) => ({ stage: r.key, calls: r.count, errors: r.errors, error_rate: rate(r.errors, r.count) })),
        jobs: pick(totals, 'job', 'stage')
          .sort(byCount)
          .map((r) => ({ kind: r.key, finished: r.count, failed: r.errors, failure_rate: rate(r.errors, r.count) })),
        top_errors: pick(totals, 'job', 'error')
          .sort(byCount)
          .slice(0, 10)
          .map((r) => ({ message: r.key, count: r.count })),
      },
      jobs: jobsNow,
      budgets: {
        by_role: roles.map((role) => {
          const inWindow = roleRows.find((r) => r.key === role)
          const todayRow = todayRoles.get(role)
          const limit = resolveLimits(overrides, { userId: '', roles: [role] }, defaults)
          return {
            role,
            tokens: (inWindow?.tokensIn ?? 0) + (inWindow?.tokensOut ?? 0),
            cost_usd: usd(inWindow?.costMicroUsd ?? 0),
            today_tokens: (todayRow?.tokensIn ?? 0) + (todayRow?.tokensOut ?? 0),
            today_cost_usd: usd(todayRow?.costMicroUsd ?? 0),
            daily_tokens_per_user: limit.tokens,
            daily_cost_usd_per_user: usd(limit.cost),
          }
        }),
      },
    }
    return { view, active }
  }

  return {
    parseWindow: (raw: string | undefined) => oneOf('window', WINDOWS, raw, '7d'),

    async summary(rawWindow?: string): Promise<MetricsSummaryView> {
      const at = now()
      return (await summarize(resolveWindow(oneOf('window', WINDOWS, rawWindow, '7d'), at), at)).view
    },

    /**
     * What the /admin page shows for a window (7d, 30d, 90d): the summary and the
     * daily series its charts draw, sharing the summary's reads (two more queries).
     */
    async dashboard(rawWindow?: string) {
      const at = now()
      const w = resolveWindow(oneOf('window', PAGE_WINDOWS, rawWindow, '7d'), at)
      const window = { grain: w.grain, from: w.from, to: w.to }
      const [{ view, active }, sessions, models] = await Promise.all([
        summarize(w, at),
        store.series({ ...window, kind: 'session', dim: 'total' }),
        store.series({ ...window, kind: 'llm', dim: 'model' }),
      ])
      const perDay = <T,>(rows: Array<{ bucket: string } & T>, value: (row: T) => number) => {
        const byDay = new Map(rows.map((row) => [row.bucket, value(row)]))
        return w.buckets.map((day) => byDay.get(day) ?? 0)
      }
      const modelNames = [...new Set(models.map((row) => row.key))].sort()
      const byModel = (value: (c: RollupCounters) => number) =>
        modelNames.map((name) => ({ name, values: perDay(models.filter((row) => row.key === name), value) }))
      return {
        summary: view,
        days: w.buckets,
        sessions: perDay(sessions, (row) => row.count),
        activeUsers: perDay(active.days.map((d) => ({ bucket: d.day, users: d.users })), (row) => row.users),
        tokensByModel: byModel((c) => c.tokensIn + c.tokensOut),
        costByModel: byModel((c) => usd(c.costMicroUsd)),
      }
    },

    async timeSeries(query: { metric?: string; window?: string; group_by?: string }): Promise<TimeSeriesView> {
      const metric = oneOf('metric', METRICS, query.metric)
      const w = resolveWindow(oneOf('window', WINDOWS, query.window, '7d'), now())
      const group = query.group_by ? oneOf('group_by', GROUP_BYS, query.group_by) : null
      const base = { metric, window: w.name, interval: w.grain, group_by: group, timezone: 'UTC' as const, from: w.from, to: w.to }

      if (metric === 'active_users') {
        if (group) throw invalid('group_by', 'active_users is a count of distinct people; it takes no group_by')
        if (w.grain === 'hour') throw invalid('window', 'active_users is counted per UTC day; use 7d, 30d or 90d')
        const days = await store.activeUsers(w.from, w.to)
        const byDay = new Map(days.map((d) => [d.day, d.users]))
        return { ...base, unit: 'users', points: w.buckets.map((date) => ({ date, value: byDay.get(date) ?? 0 })), series: [] }
      }

      const spec = SPECS[metric]
      const dim = group ? spec.groups[group] : 'total'
      if (!dim) {
        const allowed = Object.keys(spec.groups)
        throw invalid('group_by', allowed.length > 0 ? `${metric} can be grouped by ${allowed.join(' or ')}` : `${metric} takes no group_by`)
      }
      const kind = kindFor(spec, group)
      const window = { grain: w.grain, from: w.from, to: w.to }
      const [rows, extra] = await Promise.all([
        store.series({ ...window, kind, dim }),
        // Errors without a group: failed jobs beside the 5xx responses.
        metric === 'errors' && !group ? store.series({ ...window, kind: 'job', dim: 'total' }) : Promise.resolve([]),
      ])
      const fill = (counters: Map<string, RollupCounters>) =>
        w.buckets.map((date) => {
          const c = counters.get(date)
          return { date, value: c ? spec.value(c) : metric === 'duration_p95' ? null : 0 }
        })
      const total = new Map<string, RollupCounters>()
      const groups = new Map<string, Map<string, RollupCounters>>()
      for (const row of [...rows, ...extra]) {
        merge((total.get(row.bucket) ?? total.set(row.bucket, emptyCounters(HISTOGRAM_BUCKETS)).get(row.bucket))!, row)
        if (!group) continue
        const series = groups.get(row.key) ?? groups.set(row.key, new Map()).get(row.key)!
        series.set(row.bucket, merge(series.get(row.bucket) ?? emptyCounters(HISTOGRAM_BUCKETS), row))
      }
      return {
        ...base,
        unit: spec.unit,
        points: fill(total),
        series: [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, counters]) => ({ key, points: fill(counters) })),
      }
    },
  }
}

export type MetricsService = ReturnType<typeof createMetricsService>
