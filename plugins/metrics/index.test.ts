/**
 * The metrics plugin on a bare Elysia app: request counts by route template
 * (never the raw path), one "unmatched" series for unknown paths, the 5xx
 * count, the latency histogram, the scrape policy, and the job observer.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { AppError } from '../../src/errors'
import { parsePrometheus, sampleValue } from '../../tests/helpers/prometheus'
import { createMetrics, metrics, scrapeAccess, trackJob, type AppMetrics } from '.'

const build = (instance: AppMetrics, options: { token?: string } = {}) =>
  new Elysia()
    .use(metrics({ metrics: instance, token: options.token ?? null }))
    .get('/items/:id', ({ params }) => ({ id: params.id }))
    .post('/items', ({ set }) => {
      set.status = 201
      return { ok: true }
    })
    .get('/boom', () => {
      throw new Error('kaboom')
    })

const get = (app: ReturnType<typeof build>, path: string, init: RequestInit = {}) => app.handle(new Request(`http://localhost${path}`, init))

async function scrape(app: ReturnType<typeof build>): Promise<string> {
  // onAfterResponse runs after the response is handed back; let it finish.
  await Bun.sleep(5)
  const res = await get(app, '/metrics')
  expect(res.status).toBe(200)
  return res.text()
}

describe('metrics plugin', () => {
  test('counts requests by method, route template and status', async () => {
    const app = build(createMetrics())
    for (const id of ['1', '2', '3']) await (await get(app, `/items/${id}`)).text()
    await (await get(app, '/items', { method: 'POST' })).text()
    const text = await scrape(app)
    expect(sampleValue(text, 'http_requests_total', { method: 'GET', route: '/items/:id', status: '200' })).toBe(3)
    expect(sampleValue(text, 'http_requests_total', { method: 'POST', route: '/items', status: '201' })).toBe(1)
    // The raw path never becomes a label.
    expect(text).not.toContain('/items/1')
  })

  test('unknown paths share one "unmatched" series', async () => {
    const app = build(createMetrics())
    for (const path of ['/nope', '/a/b/c', `/random-${crypto.randomUUID()}`]) await (await get(app, path)).text()
    const text = await scrape(app)
    expect(sampleValue(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(3)
    expect(text).not.toContain('/nope')
  })

  test('odd methods are labelled "other"', () => {
    const instance = createMetrics()
    instance.http.record('BREW', undefined, 405, 0.001)
    return instance.render().then((text) => {
      expect(sampleValue(text, 'http_requests_total', { method: 'other', route: 'unmatched', status: '405' })).toBe(1)
    })
  })

  test('5xx answers are counted in http_5xx_total', async () => {
    const app = build(createMetrics())
    let text = await scrape(app)
    expect(sampleValue(text, 'http_5xx_total')).toBe(0)
    for (let i = 0; i < 2; i++) await (await get(app, '/boom')).text()
    text = await scrape(app)
    expect(sampleValue(text, 'http_5xx_total')).toBe(2)
    expect(sampleValue(text, 'http_requests_total', { method: 'GET', route: '/boom', status: '500' })).toBe(2)
  })

  test('the latency histogram has cumulative buckets, +Inf, sum and count', async () => {
    const app = build(createMetrics())
    for (let i = 0; i < 4; i++) await (await get(app, `/items/${i}`)).text()
    const text = await scrape(app)
    expect(text).toContain('# TYPE http_request_duration_seconds histogram')
    const labels = { method: 'GET', route: '/items/:id' }
    expect(sampleValue(text, 'http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(4)
    expect(sampleValue(text, 'http_request_duration_seconds_count', labels)).toBe(4)
    expect(sampleValue(text, 'http_request_duration_seconds_sum', labels)).toBeGreaterThan(0)
    const buckets = [...text.matchAll(/^http_request_duration_seconds_bucket\{method="GET",route="\/items\/:id",le="([^"]+)"\} (\d+)$/gm)]
    expect(buckets.length).toBeGreaterThan(5)
    const counts = buckets.map((m) => Number(m[2]))
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    expect(counts.at(-1)).toBe(4)
  })

  test('serves Prometheus text with the registry content type, default metrics included', async () => {
    const instance = createMetrics()
    const app = build(instance)
    const res = await get(app, '/metrics')
    expect(res.headers.get('content-type')).toBe(instance.contentType)
    expect(instance.contentType).toStartWith('text/plain; version=0.0.4')
    const text = await res.text()
    expect(text).toContain('# TYPE process_cpu_seconds_total counter')
    // Every line is a sample, a HELP/TYPE comment or blank (parsePrometheus throws otherwise).
    const samples = parsePrometheus(text)
    expect(samples.length).toBeGreaterThan(10)
    expect(samples.some((sample) => sample.name === 'process_cpu_seconds_total')).toBe(true)
  })

  test('two instances in one process keep their own counts', async () => {
    const a = build(createMetrics())
    const b = build(createMetrics())
    await (await get(a, '/items/1')).text()
    await (await get(a, '/items/2')).text()
    await (await get(b, '/items/1')).text()
    expect(sampleValue(await scrape(a), 'http_requests_total', { method: 'GET', route: '/items/:id', status: '200' })).toBe(2)
    expect(sampleValue(await scrape(b), 'http_requests_total', { method: 'GET', route: '/items/:id', status: '200' })).toBe(1)
  })

  test('with a token, /metrics needs it as a bearer token', async () => {
    const app = build(createMetrics(), { token: 'scrape-secret-123' })
    expect((await get(app, '/metrics')).status).not.toBe(200)
    expect((await get(app, '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).not.toBe(200)
    const ok = await get(app, '/metrics', { headers: { authorization: 'Bearer scrape-secret-123' } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('http_requests_total')
  })
})

describe('scrape policy', () => {
  const refused = (fn: () => void): AppError | null => {
    try {
      fn()
      return null
    } catch (error) {
      return error as AppError
    }
  }

  test('a token is required when set, whatever the address', () => {
    const check = scrapeAccess({ token: 't0ken', production: true, trustedIps: [] })
    expect(refused(() => check(null, '127.0.0.1'))?.status).toBe(401)
    expect(refused(() => check('Bearer other', '127.0.0.1'))?.status).toBe(401)
    expect(refused(() => check('Basic dDBrZW4=', '127.0.0.1'))?.status).toBe(401)
    expect(refused(() => check('Bearer t0ken', '203.0.113.9'))).toBeNull()
    expect(refused(() => check('bearer  t0ken', null))).toBeNull()
  })

  test('production without a token on a separate listener: loopback and trusted proxies only', () => {
    const check = scrapeAccess({ token: null, production: true, trustedIps: ['10.0.0.2'] })
    expect(refused(() => check(null, '127.0.0.1'))).toBeNull()
    expect(refused(() => check(null, '::1'))).toBeNull()
    expect(refused(() => check(null, '::ffff:127.0.0.1'))).toBeNull()
    expect(refused(() => check(null, '10.0.0.2'))).toBeNull()
    expect(refused(() => check(null, '10.0.0.3'))?.status).toBe(403)
    expect(refused(() => check(null, null))?.status).toBe(403)
  })

  test('production without a token on the app’s public port: nobody, loopback included', () => {
    const check = scrapeAccess({ token: null, production: true, trustedIps: ['10.0.0.2'], listener: 'public' })
    for (const ip of ['127.0.0.1', '::1', '10.0.0.2', null]) expect(refused(() => check(null, ip))?.status).toBe(403)
    expect(refused(() => scrapeAccess({ token: 't0ken', production: true, trustedIps: [], listener: 'public' })('Bearer t0ken', '127.0.0.1'))).toBeNull()
  })

  test('development and test without a token: open', () => {
    const check = scrapeAccess({ token: null, production: false, trustedIps: [] })
    expect(refused(() => check(null, null))).toBeNull()
  })
})

describe('job observer', () => {
  const job = (kind: string, input: unknown = {}) => ({ kind, input, createdAt: new Date(Date.now() - 2000), startedAt: null })

  test('council calls are counted by stage, agent, model and status; unreported calls count as errors', async () => {
    const instance = createMetrics()
    const track = trackJob(instance.jobs, job('council'))
    track.started(new Date())
    track.callStarted({ stage: 'draft', agent: 'analyst', model: 'offline-small' })
    track.callStarted({ stage: 'draft', agent: 'skeptic', model: 'offline-large' })
    track.callFinished({ stage: 'draft', agent: 'analyst', tokensIn: 100, tokensOut: 40, costMicroUsd: 18 })
    track.finished('retrying')
    track.finished('succeeded') // ignored: an attempt ends once
    const text = await instance.render()
    expect(sampleValue(text, 'llm_calls_total', { stage: 'draft', agent: 'analyst', model: 'offline-small', status: 'ok' })).toBe(1)
    expect(sampleValue(text, 'llm_calls_total', { stage: 'draft', agent: 'skeptic', model: 'offline-large', status: 'error' })).toBe(1)
    expect(sampleValue(text, 'llm_tokens_total', { direction: 'in', model: 'offline-small' })).toBe(100)
    expect(sampleValue(text, 'llm_tokens_total', { direction: 'out', model: 'offline-small' })).toBe(40)
    expect(sampleValue(text, 'llm_cost_usd_total', { model: 'offline-small' })).toBeCloseTo(0.000018, 9)
    expect(sampleValue(text, 'llm_call_duration_seconds_count', { stage: 'draft' })).toBe(1)
    expect(sampleValue(text, 'job_retries_total', { kind: 'council' })).toBe(1)
    expect(sampleValue(text, 'jobs_total', { kind: 'council', status: 'succeeded' })).toBeUndefined()
    expect(sampleValue(text, 'job_queue_wait_seconds_count', { kind: 'council' })).toBe(1)
    expect(sampleValue(text, 'job_queue_wait_seconds_sum', { kind: 'council' })).toBeGreaterThanOrEqual(1.9)
  })

  test('final outcomes count jobs; agent jobs also count agent calls; cut-short calls are "cancelled"', async () => {
    const instance = createMetrics()
    const agentJob = trackJob(instance.jobs, job('agent', { agent: 'analyst', input: 'hi' }))
    agentJob.started(new Date())
    agentJob.finished('succeeded')
    const cancelled = trackJob(instance.jobs, job('council'))
    cancelled.started(new Date())
    cancelled.callStarted({ stage: 'review', agent: 'skeptic', model: 'offline-small' })
    cancelled.finished('cancelled')
    const text = await instance.render()
    expect(sampleValue(text, 'jobs_total', { kind: 'agent', status: 'succeeded' })).toBe(1)
    expect(sampleValue(text, 'agent_calls_total', { agent: 'analyst', status: 'succeeded' })).toBe(1)
    expect(sampleValue(text, 'jobs_total', { kind: 'council', status: 'cancelled' })).toBe(1)
    expect(sampleValue(text, 'llm_calls_total', { stage: 'review', agent: 'skeptic', model: 'offline-small', status: 'cancelled' })).toBe(1)
    expect(sampleValue(text, 'job_duration_seconds_count', { kind: 'agent' })).toBe(1)
    expect(sampleValue(text, 'job_duration_seconds_count', { kind: 'council' })).toBeUndefined()
  })

  test('queue gauges come from health() at scrape time; a slow queue reads as down, not a hung scrape', async () => {
    const healthy = createMetrics()
    healthy.watchQueue({ health: async () => ({ backend: 'bullmq', waiting: 4, active: 2, delayed: 1, failed: 0, workers: 3 }) })
    let text = await healthy.render()
    expect(sampleValue(text, 'job_queue_up')).toBe(1)
    expect(sampleValue(text, 'job_queue_backlog', { state: 'waiting' })).toBe(4)
    expect(sampleValue(text, 'job_queue_backlog', { state: 'active' })).toBe(2)
    expect(sampleValue(text, 'job_queue_backlog', { state: 'delayed' })).toBe(1)
    expect(sampleValue(text, 'job_queue_backlog', { state: 'failed' })).toBe(0)
    expect(sampleValue(text, 'job_workers')).toBe(3)

    const slow = createMetrics({ queueTimeoutMs: 50 })
    slow.watchQueue({ health: () => new Promise(() => undefined) })
    const started = performance.now()
    text = await slow.render()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(sampleValue(text, 'job_queue_up')).toBe(0)
    expect(sampleValue(text, 'job_queue_backlog', { state: 'waiting' })).toBeUndefined()
  })
})
