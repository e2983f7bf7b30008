/**
 * The BullMQ runner under failure: a worker whose shutdown grace runs out
 * releases its job to another worker, and a run requested while Redis is
 * unreachable answers 503 promptly instead of hanging.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { describeOnPostgres, DIALECT } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const alice = { user: 'alice@example.com' }

let app: TestApp | undefined
const workers: WorkerProcess[] = []
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
  await app?.close()
  app = undefined
})

describeOnPostgres('BullMQ runner resilience: a worker process on the shared PostgreSQL', () => {
  test('SIGTERM with a short grace releases the running job, and another worker finishes it', async () => {
    const queue = `test-${crypto.randomUUID().slice(0, 8)}`
    app = await buildTestApp({ JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, JOBS_ATTEMPTS: '3' }, { dialect: 'pg' })
    const env = { DATABASE_URL: app.config.db.url, REDIS_URL: REDIS, JOBS_QUEUE: queue, JOBS_LOCK_MS: '2000' }
    const first = startWorker({ ...env, LLM_OFFLINE_LATENCY_MS: '1500', JOBS_SHUTDOWN_GRACE_MS: '300' })
    workers.push(first)
    await first.ready
    const created = await app.json('POST', '/api/v1/sessions', { ...alice, body: { question: 'Should the graceful shutdown be tested?' } })
    const run = await app.json('POST', `/api/v1/sessions/${created.body.id}/run`, alice)
    const jobId = run.body.job_id as string
    const deadline = Date.now() + 10_000
    while ((await app.json('GET', `/api/v1/jobs/${jobId}`, alice)).body.status !== 'running') {
      if (Date.now() > deadline) throw new Error('the job never started')
      await Bun.sleep(50)
    }
    const stopped = Date.now()
    expect(await first.stop('SIGTERM')).toBe(0)
    // The grace (300 ms) is enforced: the worker does not wait for its 1.5 s LLM calls.
    expect(Date.now() - stopped).toBeLessThan(6000)
    expect(first.output()).toContain('shutdown grace over; releasing running jobs')

    const second = startWorker({ ...env, LLM_OFFLINE_LATENCY_MS: '0' })
    workers.push(second)
    await second.ready
    const finishBy = Date.now() + 30_000
    let job = (await app.json('GET', `/api/v1/jobs/${jobId}`, alice)).body
    while (job.status !== 'succeeded' && job.status !== 'failed') {
      if (Date.now() > finishBy) throw new Error(`job not finished: ${JSON.stringify(job)}`)
      await Bun.sleep(100)
      job = (await app.json('GET', `/api/v1/jobs/${jobId}`, alice)).body
    }
    expect(job.status).toBe('succeeded')
    const outputs = await app.deps.stores.stageOutputs.forRun(created.body.id)
    const drafts = outputs.filter((row) => row.stage === 'draft' && row.status === 'ok')
    expect(drafts.map((row) => row.agent).sort()).toEqual(['analyst', 'pragmatist', 'skeptic'])
  }, 60_000)
})

describe(`BullMQ runner resilience (${DIALECT})`, () => {
  test('with Redis unreachable, a run answers 503 queue_unavailable within seconds and the job is marked failed', async () => {
    app = await buildTestApp({ JOBS_BACKEND: 'bullmq', REDIS_URL: 'redis://127.0.0.1:1', JOBS_QUEUE: `test-${crypto.randomUUID().slice(0, 8)}` })
    const created = await app.json('POST', '/api/v1/sessions', { ...alice, body: { question: 'Is Redis up?' } })
    const started = Date.now()
    const run = await app.json('POST', `/api/v1/sessions/${created.body.id}/run`, alice)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(run.status).toBe(503)
    expect(run.body.error.code).toBe('queue_unavailable')
    const ready = await app.json('GET', '/readyz')
    expect(ready.status).toBe(503)
    expect(ready.body.components.queue.status).toBe('fail')
    const session = await app.json('GET', `/api/v1/sessions/${created.body.id}`, alice)
    expect(session.body.status).toBe('failed')
  }, 30_000)
})
