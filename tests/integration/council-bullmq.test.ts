/**
 * The council through BullMQ with a real worker process and the real Redis and
 * PostgreSQL: a run enqueued through the API is executed by `bun run worker`;
 * a worker killed with SIGKILL mid-run is replaced and the job completes with
 * exactly one draft per agent and one synthesis.
 */
import { afterEach, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { describeOnPostgres } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const alice = { user: 'alice@example.com' }

let app: TestApp | undefined
const workers: WorkerProcess[] = []

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
  await app?.close()
  app = undefined
})

async function setup(workerEnv: Record<string, string> = {}) {
  const queue = `test-${crypto.randomUUID().slice(0, 8)}`
  app = await buildTestApp({ JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue }, { dialect: 'pg' })
  const spawn = () => {
    const worker = startWorker({
      DATABASE_URL: app!.config.db.url,
      REDIS_URL: REDIS,
      JOBS_QUEUE: queue,
      EVENTS_PREFIX: queue,
      JOBS_LOCK_MS: '2000',
      JOBS_CONCURRENCY: '10',
      ...workerEnv,
    })
    workers.push(worker)
    return worker
  }
  return { app, spawn }
}

async function waitForJob(t: TestApp, jobId: string, until: (job: any) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { body } = await t.json('GET', `/api/v1/jobs/${jobId}`, alice)
    if (until(body)) return body
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the state in time: ${JSON.stringify(body)}`)
    await Bun.sleep(100)
  }
}

describeOnPostgres('council on BullMQ with a separate worker process', () => {
  test('a run enqueued through the API is executed by the worker', async () => {
    const { app: t, spawn } = await setup()
    const worker = spawn()
    await worker.ready
    const created = await t.json('POST', '/api/v1/sessions', { ...alice, body: { question: 'Should we move to a monorepo?' } })
    const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, alice)
    expect(run.status).toBe(202)
    const job = await waitForJob(t, run.body.job_id, (j) => j.status === 'succeeded' || j.status === 'failed')
    expect(job.status).toBe('succeeded')
    expect(job.request_id).toBe(run.headers.get('x-request-id'))

    const results = await t.json('GET', `/api/v1/sessions/${created.body.id}/results`, alice)
    expect(results.body.drafts.map((d: any) => d.agent).sort()).toEqual(['analyst', 'pragmatist', 'skeptic'])
    expect(results.body.synthesis.content).toContain('council')
    // The worker's log lines carry the request_id of the request that enqueued the job.
    expect(worker.output()).toContain(run.headers.get('x-request-id')!)

    const ready = await t.json('GET', '/readyz')
    expect(ready.body.components.queue.status).toBe('ok')
    expect(ready.body.components.worker.status).toBe('ok')
    expect(ready.body.components.worker.workers).toBeGreaterThanOrEqual(1)
  }, 40_000)

  test('a worker killed with SIGKILL mid-run is replaced and the job finishes with one draft per agent', async () => {
    // 600 ms per LLM call: the first worker is killed while the council is under way.
    const { app: t, spawn } = await setup({ LLM_OFFLINE_LATENCY_MS: '600' })
    const first = spawn()
    await first.ready
    const created = await t.json('POST', '/api/v1/sessions', { ...alice, body: { question: 'Is it time to rewrite the billing system?' } })
    const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, alice)
    const jobId = run.body.job_id as string

    const deadline = Date.now() + 15_000
    for (;;) {
      const drafts = (await t.deps.stores.stageOutputs.forRun(created.body.id)).filter((row) => row.stage === 'draft')
      if (drafts.length > 0) break
      if (Date.now() > deadline) throw new Error(`no draft was stored in time:\n${first.output()}`)
      await Bun.sleep(50)
    }
    await first.stop('SIGKILL')
    const midway = await t.json('GET', `/api/v1/jobs/${jobId}`, alice)
    expect(midway.body.status).toBe('running')

    const second = spawn()
    await second.ready
    const job = await waitForJob(t, jobId, (j) => j.status === 'succeeded' || j.status === 'failed', 30_000)
    expect(job.status).toBe('succeeded')

    const rows = await t.deps.stores.stageOutputs.forRun(created.body.id)
    const drafts = rows.filter((row) => row.stage === 'draft' && row.status === 'ok')
    expect(drafts.map((row) => row.agent).sort()).toEqual(['analyst', 'pragmatist', 'skeptic'])
    expect(rows.filter((row) => row.stage === 'synthesis' && row.status === 'ok')).toHaveLength(1)
    expect(second.output()).toContain('resuming from stored outputs')
  }, 60_000)
})
