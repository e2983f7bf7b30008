/**
 * The admin metrics API (SPEC §4 /api/admin/metrics/summary and /time_series)
 * and the /admin dashboard, on this run's dialect. Known usage is fed through
 * the live recorder (src/modules/usage/recorder.ts) at fixed days, so every
 * figure is exact; a real council then shows the live path feeding the same
 * rollups. Members get 403; auditors read.
 */
import { describe, expect, test } from 'bun:test'
import { createInlineQueue } from '../../plugins/jobs/inline'
import { createLogger } from '../../plugins/logging/logger'
import { createUsageRecorder } from '../../src/modules/usage/recorder'
import { parsePrometheus, sampleSum } from '../helpers/prometheus'
import { expectErrorShape, freshUser, useApp } from './support'

const DAY = 86_400_000
const admin = { user: 'metrics-admin@example.com', role: 'admin' }
const auditor = { user: 'metrics-auditor@example.com', role: 'auditor' }
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)

describe('admin metrics from known usage', () => {
  // Live events off: the test's own requests must not add to the seeded figures.
  const use = useApp({ USAGE_EVENTS: 'false' })
  const now = Date.now()
  let seeded = false

  const seed = async () => {
    if (seeded) return
    seeded = true
    const t = use()
    const at = (ms: number) => createUsageRecorder({ store: t.deps.stores.usage, logger: createLogger({ level: 'error' }), flushEveryMs: 60_000, now: () => new Date(ms) })
    const today = at(now)
    for (const durationMs of [100, 100, 100, 3000])
      today.llmCall({ userId: 'u1', role: 'user', model: 'm-a', stage: 'draft', ok: true, tokensIn: 100, tokensOut: 50, costMicroUsd: 1000, durationMs })
    today.llmCall({ userId: 'u2', role: 'admin', model: 'm-b', stage: 'review', ok: false, tokensIn: 0, tokensOut: 0, costMicroUsd: 0 })
    today.job({ userId: 'u1', role: 'user', kind: 'council', outcome: 'succeeded', durationMs: 5000 })
    today.job({ userId: 'u2', role: 'admin', kind: 'council', outcome: 'failed', error: 'Provider 503 for a@b.example' })
    today.request({ method: 'GET', route: '/api/v1/sessions', status: 200, durationMs: 10, userId: 'u1', role: 'user' })
    today.request({ method: 'POST', route: '/api/v1/sessions', status: 201, durationMs: 20, userId: 'u1', role: 'user' })
    today.request({ method: 'GET', route: '/api/v1/sessions/:id', status: 500, durationMs: 30, userId: 'u2', role: 'admin' })
    today.request({ method: 'GET', route: undefined, status: 404, durationMs: 40 })
    today.request({ method: 'GET', route: '/healthz', status: 200, durationMs: 1 })
    const yesterday = at(now - DAY)
    yesterday.llmCall({ userId: 'u3', role: 'user', model: 'm-a', stage: 'draft', ok: true, tokensIn: 10, tokensOut: 10, costMicroUsd: 500, durationMs: 100 })
    yesterday.request({ method: 'POST', route: '/sessions', status: 303, durationMs: 15, userId: 'u3', role: 'user' })
    const earlier = at(now - 10 * DAY)
    earlier.llmCall({ userId: 'u4', role: 'user', model: 'm-c', stage: 'synthesis', ok: true, tokensIn: 1000, tokensOut: 1000, costMicroUsd: 9_000_000, durationMs: 50 })
    for (const recorder of [today, yesterday, earlier]) await recorder.close()
  }

  test('summary over 7 days: exact usage, performance, reliability and budgets', async () => {
    await seed()
    const t = use()
    const res = await t.json('GET', '/api/admin/metrics/summary?window=7d', admin)
    expect(res.status).toBe(200)
    const s = res.body
    expect(s).toMatchObject({ window: '7d', from: dayOf(now - 6 * DAY), to: dayOf(now), timezone: 'UTC' })
    expect(s.usage).toEqual({
      sessions_created: 2,
      councils_run: 2,
      requests: 5,
      active_users: { daily: 2, weekly: 3, window: 3 },
      llm_calls: 6,
      tokens_in: 410,
      tokens_out: 210,
      tokens: 620,
      cost_usd: 0.0045,
      by_model: [
        { model: 'm-a', calls: 5, errors: 0, tokens_in: 410, tokens_out: 210, cost_usd: 0.0045 },
        { model: 'm-b', calls: 1, errors: 1, tokens_in: 0, tokens_out: 0, cost_usd: 0 },
      ],
    })
    expect(s.performance).toEqual({
      stages: [
        { stage: 'draft', calls: 5, p50_ms: 98.7, p95_ms: 3444.3 },
        { stage: 'review', calls: 1, p50_ms: null, p95_ms: null },
      ],
      jobs: [{ kind: 'council', finished: 2, p50_ms: 5792.6, p95_ms: 7913 }],
      requests: { p50_ms: 19, p95_ms: 53.8 },
    })
    expect(s.reliability).toEqual({
      requests: 5,
      server_errors: 1,
      client_errors: 1,
      error_rate: 0.2,
      by_endpoint: [
        { endpoint: 'GET /api/v1/sessions/:id', requests: 1, server_errors: 1, client_errors: 0, error_rate: 1, p95_ms: 30.9 },
        { endpoint: 'GET /api/v1/sessions', requests: 1, server_errors: 0, client_errors: 0, error_rate: 0, p95_ms: 15.5 },
        { endpoint: 'GET unmatched', requests: 1, server_errors: 0, client_errors: 1, error_rate: 0, p95_ms: 61.8 },
        { endpoint: 'POST /api/v1/sessions', requests: 1, server_errors: 0, client_errors: 0, error_rate: 0, p95_ms: 30.9 },
        { endpoint: 'POST /sessions', requests: 1, server_errors: 0, client_errors: 0, error_rate: 0, p95_ms: 15.5 },
      ],
      by_stage: [
        { stage: 'draft', calls: 5, errors: 0, error_rate: 0 },
        { stage: 'review', calls: 1, errors: 1, error_rate: 1 },
      ],
      jobs: [{ kind: 'council', finished: 2, failed: 1, failure_rate: 0.5 }],
      top_errors: [{ message: 'Provider <n> for <email>', count: 1 }],
    })
    expect(s.jobs).toEqual({ active: 0, queued: 0 })
    const perUser = { daily_tokens_per_user: t.config.budgets.dailyTokens, daily_cost_usd_per_user: t.config.budgets.dailyCostMicroUsd / 1e6 }
    expect(s.budgets.by_role).toEqual([
      { role: 'admin', tokens: 0, cost_usd: 0, today_tokens: 0, today_cost_usd: 0, ...perUser },
      { role: 'user', tokens: 620, cost_usd: 0.0045, today_tokens: 600, today_cost_usd: 0.004, ...perUser },
    ])
  })

  test('a longer window takes in older days; 7d is the default', async () => {
    await seed()
    const t = use()
    const month = (await t.json('GET', '/api/admin/metrics/summary?window=30d', auditor)).body
    expect(month.usage).toMatchObject({ llm_calls: 7, tokens: 2620, cost_usd: 9.0045, active_users: { daily: 2, weekly: 3, window: 4 } })
    expect(month.usage.by_model.map((m: { model: string }) => m.model)).toEqual(['m-c', 'm-a', 'm-b'])
    expect(month.performance.stages.map((s: { stage: string }) => s.stage)).toEqual(['draft', 'review', 'synthesis'])
    const fallback = (await t.json('GET', '/api/admin/metrics/summary', admin)).body
    expect(fallback.window).toBe('7d')
    expect(fallback.usage.llm_calls).toBe(6)
  })

  test('time series: zero-filled daily points, grouped series, hourly for 24h', async () => {
    await seed()
    const t = use()
    const get = async (query: string) => {
      const res = await t.json('GET', `/api/admin/metrics/time_series?${query}`, admin)
      expect(res.status).toBe(200)
      return res.body
    }
    const tokens = await get('metric=tokens&window=7d')
    expect(tokens).toMatchObject({ metric: 'tokens', window: '7d', interval: 'day', group_by: null, unit: 'tokens', timezone: 'UTC', series: [] })
    expect(tokens.points.map((p: { date: string }) => p.date)).toEqual(Array.from({ length: 7 }, (_, i) => dayOf(now - (6 - i) * DAY)))
    expect(tokens.points.map((p: { value: number }) => p.value)).toEqual([0, 0, 0, 0, 0, 20, 600])

    const byModel = await get('metric=tokens&window=7d&group_by=model')
    expect(byModel.series.map((s: { key: string; points: Array<{ value: number }> }) => [s.key, s.points.map((p) => p.value)])).toEqual([
      ['m-a', [0, 0, 0, 0, 0, 20, 600]],
      ['m-b', [0, 0, 0, 0, 0, 0, 0]],
    ])
    expect(byModel.points.at(-1).value).toBe(600)

    expect((await get('metric=sessions&window=7d')).points.slice(-2).map((p: { value: number }) => p.value)).toEqual([1, 1])
    expect((await get('metric=cost&window=30d')).points.map((p: { value: number }) => p.value).filter((v: number) => v > 0)).toEqual([9, 0.0005, 0.004])
    // Without a group: 5xx responses and failed jobs.
    expect((await get('metric=errors&window=7d')).points.at(-1).value).toBe(2)
    const endpointErrors = await get('metric=errors&window=7d&group_by=endpoint')
    expect(endpointErrors.series.find((s: { key: string }) => s.key === 'GET /api/v1/sessions/:id').points.at(-1).value).toBe(1)
    expect((await get('metric=errors&window=7d&group_by=stage')).series.map((s: { key: string; points: Array<{ value: number }> }) => [s.key, s.points.at(-1)!.value])).toEqual([
      ['draft', 0],
      ['review', 1],
    ])
    expect((await get('metric=active_users&window=7d')).points.slice(-3).map((p: { value: number }) => p.value)).toEqual([0, 1, 2])
    const p95 = await get('metric=duration_p95&window=7d&group_by=stage')
    expect(p95.unit).toBe('ms')
    expect(p95.series.find((s: { key: string }) => s.key === 'draft').points.slice(-3).map((p: { value: number | null }) => p.value)).toEqual([null, 123.6, 3565.8])
    const hourly = await get('metric=cost&window=24h')
    expect(hourly.interval).toBe('hour')
    expect(hourly.points).toHaveLength(24)
    expect(hourly.points.at(-1)).toEqual({ date: new Date(now).toISOString().slice(0, 13), value: 0.004 })
  })

  test('bad metrics, windows and groupings answer 422 naming the field; never 500', async () => {
    const t = use()
    const cases: Array<[string, string]> = [
      ['/api/admin/metrics/time_series', 'metric'],
      ['/api/admin/metrics/time_series?metric=bogus', 'metric'],
      ['/api/admin/metrics/time_series?metric=tokens&window=8d', 'window'],
      ['/api/admin/metrics/time_series?metric=tokens&group_by=user', 'group_by'],
      ['/api/admin/metrics/time_series?metric=tokens&group_by=endpoint', 'group_by'],
      ['/api/admin/metrics/time_series?metric=sessions&group_by=model', 'group_by'],
      ['/api/admin/metrics/time_series?metric=active_users&group_by=model', 'group_by'],
      ['/api/admin/metrics/time_series?metric=active_users&window=24h', 'window'],
      ['/api/admin/metrics/summary?window=1y', 'window'],
    ]
    for (const [path, field] of cases) {
      const res = await t.json('GET', path, admin)
      expectErrorShape(expect, res, 422, 'validation_failed')
      expect(res.body.error.message).toContain(`"${field}"`)
    }
  })

  test('members get 403 on the API and the page; anonymous 401', async () => {
    const t = use()
    const member = { user: freshUser('member') }
    expectErrorShape(expect, await t.json('GET', '/api/admin/metrics/summary', member), 403)
    expectErrorShape(expect, await t.json('GET', '/api/admin/metrics/time_series?metric=tokens', member), 403)
    expect((await t.call('GET', '/admin', member)).status).toBe(403)
    expectErrorShape(expect, await t.json('GET', '/api/admin/metrics/summary'), 401)
  })

  test('the /admin page: charts with titles and tables, range links that swap the dashboard and push the URL', async () => {
    await seed()
    const t = use()
    const res = await t.call('GET', '/admin?window=30d', auditor)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<nav aria-label="Main">')
    expect(html).toContain('id="admin-links"')
    for (const id of ['chart-sessions', 'chart-active-users', 'chart-tokens', 'chart-cost', 'chart-cost-model', 'chart-stage-duration', 'chart-endpoint-errors', 'chart-stage-errors', 'chart-budget-roles'])
      expect(html).toContain(`<figure class="svg-chart" id="${id}">`)
    expect(html.match(/<svg viewBox="[^"]+" width="100%" role="img" aria-labelledby="[^"]+" aria-label="[^"]+"/g)?.length).toBeGreaterThanOrEqual(9)
    expect(html).toContain('<title id="chart-tokens-title">Tokens per day by model</title>')
    expect(html.match(/<details class="chart-table">/g)?.length).toBeGreaterThanOrEqual(9)
    expect(html).toContain('<a href="/admin?window=7d" hx-get="/admin?window=7d" hx-target="#dashboard" hx-swap="outerHTML" hx-push-url="true"')
    expect(html).toMatch(/href="\/admin\?window=30d"[^>]*aria-current="true"/)
    // Redacted error and the seeded model appear; the figures in the tables are the API's.
    expect(html).toContain('Provider &lt;n&gt; for &lt;email&gt;')
    expect(html).toContain('<td>m-c</td>')
    expect(html).toContain('$9.00')

    const fragment = await t.call('GET', '/admin?window=7d', { ...admin, headers: { 'hx-request': 'true' } })
    expect(fragment.status).toBe(200)
    const body = await fragment.text()
    expect(body.startsWith('<section id="dashboard"')).toBe(true)
    expect(body).not.toContain('<html')
    expect(body).not.toContain('<td>m-c</td>')

    const bad = await t.call('GET', '/admin?window=8d', { ...admin, headers: { accept: 'text/html' } })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('<nav aria-label="Main">')
  })
})

describe('admin metrics from the live path', () => {
  const use = useApp()

  test('a council run through the app feeds the rollups: calls, tokens, jobs, sessions and requests', async () => {
    const t = use()
    const user = freshUser('live')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Should the team adopt trunk-based development this quarter?' } })
    expect(created.status).toBe(201)
    expect((await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })).status).toBe(202)
    await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
    await Bun.sleep(5)
    await t.deps.usage!.flush()
    const samples = parsePrometheus(await (await t.call('GET', '/metrics')).text())
    const s = (await t.json('GET', '/api/admin/metrics/summary?window=7d', admin)).body
    const calls = sampleSum(samples, 'llm_calls_total', { status: 'ok' })
    expect(calls).toBeGreaterThan(0)
    expect(s.usage.llm_calls).toBe(calls)
    expect(s.usage.tokens).toBe(sampleSum(samples, 'llm_tokens_total', {}))
    expect(s.usage.sessions_created).toBe(1)
    expect(s.usage.councils_run).toBe(1)
    expect(s.usage.active_users.daily).toBeGreaterThanOrEqual(1)
    expect(s.performance.stages.map((x: { stage: string }) => x.stage).sort()).toEqual(['draft', 'review', 'synthesis'])
    for (const stage of s.performance.stages) expect(stage.p95_ms).toBeGreaterThan(0)
    expect(s.reliability.by_endpoint.map((e: { endpoint: string }) => e.endpoint)).toContain('POST /api/v1/sessions/:id/run')
    expect(s.budgets.by_role.map((r: { role: string }) => r.role)).toContain('user')
  })
})
