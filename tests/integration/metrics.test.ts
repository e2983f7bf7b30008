/**
 * GET /metrics through the whole app (SPEC §4): after a council on the
 * in-process runner it reports each LLM call by stage, the job's outcome,
 * tokens, cost and the queue; failed calls and jobs are counted as such; the
 * agent proxy counts its calls; requests are labelled by route template;
 * METRICS_TOKEN and the production address rule are enforced; and the BullMQ
 * worker serves its own /metrics on METRICS_PORT.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { createInlineQueue } from '../../plugins/jobs/inline'
import { buildTestApp, type TestApp } from '../helpers/app'
import { parsePrometheus, sampleSum, sampleValue, type PromSample } from '../helpers/prometheus'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { describeOnPostgres, DIALECT, expectErrorShape, freshUser } from './support'

const TOKEN = 'metrics-test-token-0123456789'

async function idle(t: TestApp): Promise<void> {
  await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
}

async function runCouncil(t: TestApp, user: string): Promise<string> {
  const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Should we adopt a four-day week for the platform team?' } })
  expect(created.status).toBe(201)
  const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
  expect(run.status).toBe(202)
  await idle(t)
  return run.body.job_id as string
}

/** Scrapes /metrics and parses it (which throws on any line that is not Prometheus text). */
async function scrape(t: TestApp, headers: Record<string, string> = {}): Promise<PromSample[]> {
  // Request counts are recorded after each response is sent; let the last one land.
  await Bun.sleep(5)
  const res = await t.call('GET', '/metrics', { headers })
  expect(res.status).toBe(200)
  return parsePrometheus(await res.text())
}

const llmCalls = (samples: PromSample[], labels: Record<string, string>) => sampleSum(samples, 'llm_calls_total', labels)

describe(`/metrics after a council on the inline runner (${DIALECT})`, () => {
  let t: TestApp
  let samples: PromSample[]
  let text: string
  beforeAll(async () => {
    t = await buildTestApp()
    const user = freshUser('metrics')
    const jobId = await runCouncil(t, user)
    expect((await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body.status).toBe('succeeded')
    await Bun.sleep(5)
    const res = await t.call('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(t.deps.metrics.contentType)
    text = await res.text()
    samples = parsePrometheus(text)
  })
  afterAll(async () => {
    await t?.close()
  })

  test('the output parses as Prometheus text and carries process metrics', () => {
    expect(samples.length).toBeGreaterThan(20)
    expect(text).toContain('# TYPE llm_calls_total counter')
    expect(text).toContain('# TYPE http_request_duration_seconds histogram')
    expect(samples.some((sample) => sample.name === 'process_cpu_seconds_total')).toBe(true)
  })

  test('one LLM call per member for draft and review, one synthesis, all ok', () => {
    expect(llmCalls(samples, { stage: 'draft' })).toBe(3)
    expect(llmCalls(samples, { stage: 'review' })).toBe(3)
    expect(llmCalls(samples, { stage: 'synthesis' })).toBe(1)
    expect(llmCalls(samples, { status: 'ok' })).toBe(7)
    for (const agent of ['analyst', 'pragmatist', 'skeptic']) {
      expect(llmCalls(samples, { stage: 'draft', agent })).toBe(1)
      expect(llmCalls(samples, { stage: 'review', agent })).toBe(1)
    }
    expect(llmCalls(samples, { stage: 'synthesis', agent: 'chair' })).toBe(1)
    // Every call has a model label from the catalog, never an empty one.
    const models = samples.filter((sample) => sample.name === 'llm_calls_total').map((sample) => sample.labels.model)
    expect(models.every((model) => typeof model === 'string' && model.length > 0 && model !== 'unknown')).toBe(true)
    expect(sampleValue(samples, 'llm_call_duration_seconds_count', { stage: 'draft' })).toBe(3)
    expect(sampleValue(samples, 'llm_call_duration_seconds_count', { stage: 'synthesis' })).toBe(1)
  })

  test('the job is counted once as succeeded, with its duration and queue wait', () => {
    expect(sampleValue(samples, 'jobs_total', { kind: 'council', status: 'succeeded' })).toBe(1)
    expect(sampleSum(samples, 'jobs_total')).toBe(1)
    expect(sampleValue(samples, 'job_duration_seconds_count', { kind: 'council' })).toBe(1)
    expect(sampleValue(samples, 'job_queue_wait_seconds_count', { kind: 'council' })).toBe(1)
  })

  test('tokens in and out and the cost are above zero', () => {
    expect(sampleSum(samples, 'llm_tokens_total', { direction: 'in' })).toBeGreaterThan(0)
    expect(sampleSum(samples, 'llm_tokens_total', { direction: 'out' })).toBeGreaterThan(0)
    expect(sampleSum(samples, 'llm_cost_usd_total')).toBeGreaterThan(0)
  })

  test('the queue gauges read the idle in-process runner', () => {
    expect(sampleValue(samples, 'job_queue_up')).toBe(1)
    expect(sampleValue(samples, 'job_queue_backlog', { state: 'waiting' })).toBe(0)
    expect(sampleValue(samples, 'job_queue_backlog', { state: 'active' })).toBe(0)
    expect(sampleValue(samples, 'job_workers')).toBe(1)
  })

  test('requests are labelled by route template, never by raw path', () => {
    expect(sampleValue(samples, 'http_requests_total', { method: 'POST', route: '/api/v1/sessions', status: '201' })).toBe(1)
    expect(sampleValue(samples, 'http_requests_total', { method: 'POST', route: '/api/v1/sessions/:id/run', status: '202' })).toBe(1)
    expect(sampleValue(samples, 'http_requests_total', { method: 'GET', route: '/api/v1/jobs/:id', status: '200' })).toBe(1)
    const routes = samples.filter((sample) => sample.name === 'http_requests_total').map((sample) => sample.labels.route!)
    expect(routes.filter((route) => /[0-9a-f]{8}-[0-9a-f]{4}/.test(route))).toEqual([])
  })

  test('unknown paths count as "unmatched"; 5xx are counted', async () => {
    for (const path of ['/no/such/page', `/api/v1/nothing-${crypto.randomUUID()}`]) await (await t.call('GET', path)).text()
    const after = await scrape(t)
    expect(sampleValue(after, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2)
    expect(sampleValue(after, 'http_5xx_total')).toBe(0)
  })

  test('/metrics is left out of the OpenAPI document', async () => {
    const doc = await t.json('GET', '/swagger/json')
    expect(doc.status).toBe(200)
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics')
  })
})

describe(`failed calls and jobs (${DIALECT})`, () => {
  let t: TestApp | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  test('a quorum failure counts the failed drafts as errors and the job as failed', async () => {
    t = await buildTestApp({ LLM_OFFLINE_FAIL_AGENTS: 'skeptic:down,pragmatist:down' })
    const user = freshUser('quorum')
    const jobId = await runCouncil(t, user)
    expect((await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body.status).toBe('failed')
    const samples = await scrape(t)
    expect(llmCalls(samples, { stage: 'draft', status: 'ok' })).toBe(1)
    expect(llmCalls(samples, { stage: 'draft', agent: 'skeptic', status: 'error' })).toBe(1)
    expect(llmCalls(samples, { stage: 'draft', agent: 'pragmatist', status: 'error' })).toBe(1)
    expect(llmCalls(samples, { stage: 'review' })).toBe(0)
    expect(sampleValue(samples, 'jobs_total', { kind: 'council', status: 'failed' })).toBe(1)
    expect(sampleValue(samples, 'jobs_total', { kind: 'council', status: 'succeeded' })).toBeUndefined()
  })

  test('the agent proxy counts agent calls by agent, and its LLM call under stage "agent"', async () => {
    t = await buildTestApp()
    const user = freshUser('operator')
    const res = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: 'List three risks.' } })
    expect(res.status).toBe(202)
    await idle(t)
    const samples = await scrape(t)
    expect(sampleValue(samples, 'agent_calls_total', { agent: 'analyst', status: 'succeeded' })).toBe(1)
    expect(sampleValue(samples, 'jobs_total', { kind: 'agent', status: 'succeeded' })).toBe(1)
    expect(llmCalls(samples, { stage: 'agent', agent: 'analyst', status: 'ok' })).toBe(1)
    expect(sampleValue(samples, 'http_requests_total', { method: 'POST', route: '/api/v1/agents/:name/run', status: '202' })).toBe(1)
  })
})

describe('who may scrape', () => {
  let t: TestApp | undefined
  afterEach(async () => {
    await t?.close()
    t = undefined
  })

  test('with METRICS_TOKEN: 401 in the error shape without it or with a wrong one, 200 with it', async () => {
    t = await buildTestApp({ METRICS_TOKEN: TOKEN })
    const missing = await t.json('GET', '/metrics')
    expectErrorShape(expect, missing, 401, 'unauthenticated')
    expect(missing.headers.get('www-authenticate')).toContain('Bearer')
    // A signed-in user is not a scraper.
    expectErrorShape(expect, await t.json('GET', '/metrics', { user: freshUser('nosy'), role: 'admin' }), 401, 'unauthenticated')
    expectErrorShape(expect, await t.json('GET', '/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } }), 401)
    await Bun.sleep(5)
    const ok = await t.call('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(sampleSum(parsePrometheus(await ok.text()), 'http_requests_total', { route: '/metrics', status: '401' })).toBe(3)
    // Other routes are untouched by the token.
    expect((await t.call('GET', '/healthz')).status).toBe(200)
  })

  test('production without METRICS_TOKEN: the app’s port refuses every scrape, loopback included (issue 14, finding 9)', async () => {
    t = await buildProductionApp()
    // Through app.handle there is no socket, so no address: refused.
    expectErrorShape(expect, await t.json('GET', '/metrics'), 403, 'forbidden')
    // Over a real socket from 127.0.0.1 — what every request is behind a reverse proxy on the same host: refused too.
    const server = t.app.listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const res = await fetch(`http://127.0.0.1:${server.server!.port}/metrics`)
      expect(res.status).toBe(403)
    } finally {
      await t.app.stop()
    }
  })
})

/** A production-mode app (production defaults need a JWT and a non-default session secret). */
const buildProductionApp = () =>
  buildTestApp({ APP_ENV: 'production', AUTH_MODE: 'prod', JWT_SECRET: 'j'.repeat(40), SESSION_SECRET: 's'.repeat(40) })

describeOnPostgres('the BullMQ worker on METRICS_PORT (PostgreSQL and Redis)', () => {
  const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
  let t: TestApp | undefined
  let worker: WorkerProcess | undefined
  afterEach(async () => {
    await worker?.stop('SIGKILL')
    worker = undefined
    await t?.close()
    t = undefined
  })

  test('the worker counts the council it ran and serves it, token required; the app sees the worker', async () => {
    const queue = `test-metrics-${crypto.randomUUID().slice(0, 8)}`
    t = await buildTestApp({ JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue }, { dialect: 'pg' })
    const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    const port = probe.port!
    await probe.stop(true)
    worker = startWorker({ DATABASE_URL: t.config.db.url, REDIS_URL: REDIS, JOBS_QUEUE: queue, METRICS_PORT: String(port), METRICS_TOKEN: TOKEN })
    await worker.ready

    const user = freshUser('bull')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Which regions should we launch in first?' } })
    const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
    expect(run.status).toBe(202)
    const deadline = Date.now() + 20_000
    for (;;) {
      const job = (await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })).body
      if (job.status === 'succeeded' || job.status === 'failed') break
      if (Date.now() > deadline) throw new Error(`the job did not finish: ${JSON.stringify(job)}\n${worker.output()}`)
      await Bun.sleep(100)
    }

    const url = `http://127.0.0.1:${port}/metrics`
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    expect((await refused.json()).error.code).toBe('unauthenticated')
    expect((await fetch(`http://127.0.0.1:${port}/other`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404)
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const samples = parsePrometheus(await res.text())
    expect(llmCalls(samples, { stage: 'draft' })).toBe(3)
    expect(llmCalls(samples, { stage: 'review' })).toBe(3)
    expect(llmCalls(samples, { stage: 'synthesis' })).toBe(1)
    expect(sampleValue(samples, 'jobs_total', { kind: 'council', status: 'succeeded' })).toBe(1)
    expect(sampleSum(samples, 'llm_tokens_total')).toBeGreaterThan(0)

    // The app enqueued but ran nothing; it sees the queue and the live worker.
    const app = await scrape(t)
    expect(sampleSum(app, 'llm_calls_total')).toBe(0)
    expect(sampleValue(app, 'job_queue_up')).toBe(1)
    expect(sampleValue(app, 'job_workers')).toBeGreaterThanOrEqual(1)
    expect(sampleValue(app, 'job_queue_backlog', { state: 'waiting' })).toBe(0)
  }, 40_000)
})
