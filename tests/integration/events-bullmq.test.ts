/**
 * The event stream in the production shape: BullMQ on the real Redis, a
 * separate `bun run worker` process publishing, PostgreSQL, and TWO app
 * instances on the same database and Redis. Either instance serves the same
 * job's stream (the same events, the same ids), and a client whose connection
 * drops mid-run resumes on the other instance with Last-Event-ID and gets
 * exactly the events it missed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import IORedis from 'ioredis'
import { createApp, createDeps, type AppDeps } from '../../src/app'
import { createLogger } from '../../plugins/logging/logger'
import { buildTestApp, type TestApp } from '../helpers/app'
import { readSse, type SseEvent } from '../helpers/sse'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { describeOnPostgres } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const user = `streams-${crypto.randomUUID().slice(0, 8)}@example.com`
const queue = `test-events-${crypto.randomUUID().slice(0, 8)}`

type Instance = { handle: (request: Request) => Promise<Response> | Response }

let first: TestApp
let secondDeps: AppDeps
let second: Instance
let worker: WorkerProcess

async function stream(instance: Instance, jobId: string, lastEventId?: string) {
  const controller = new AbortController()
  const headers: Record<string, string> = { 'x-user-id': user }
  if (lastEventId) headers['last-event-id'] = lastEventId
  const res = await instance.handle(new Request(`http://localhost/api/v1/jobs/${jobId}/events`, { headers, signal: controller.signal }))
  expect(res.status).toBe(200)
  return readSse(res, controller)
}

const ids = (events: SseEvent[]) => events.map((event) => event.id)

describeOnPostgres('job events across app instances (BullMQ worker, Redis streams)', () => {
  beforeAll(async () => {
    const env = { JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue, EVENTS_HEARTBEAT_MS: '200' }
    first = await buildTestApp(env, { dialect: 'pg' })
    // The second instance: the same configuration (database schema, queue, Redis prefix), its own process state.
    secondDeps = createDeps(first.config, { logger: createLogger({ level: 'error', sink: () => undefined }) })
    second = createApp(first.config, secondDeps)
    worker = startWorker({ DATABASE_URL: first.config.db.url, REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue, LLM_OFFLINE_LATENCY_MS: '400', EVENTS_DELTA_MS: '30' })
    await worker.ready
  }, 60_000)

  afterAll(async () => {
    await worker?.stop('SIGTERM')
    await secondDeps?.close()
    await first?.close()
    const redis = new IORedis(REDIS, { maxRetriesPerRequest: 1 })
    try {
      const keys = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:*`))]
      if (keys.length > 0) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  }, 60_000)

  test('both instances serve the same stream; a drop on one resumes on the other with exactly the missing events', async () => {
    const created = await first.json('POST', '/api/v1/sessions', { user, body: { question: 'Should we split the monolith?' } })
    const run = await first.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
    expect(run.status).toBe(202)
    const jobId = run.body.job_id as string

    const onFirst = await stream(first.app, jobId)
    const onSecond = await stream(second, jobId)
    const dropping = await stream(first.app, jobId)
    const before = await dropping.waitFor((events) => events.some((e) => e.event === 'member' && e.data.state === 'succeeded'), 30_000)
    await dropping.drop()
    const seen = [...before]
    expect(seen.at(-1)!.event).not.toBe('done')
    await Bun.sleep(300) // the council goes on while the client is away
    const resumed = await (await stream(second, jobId, seen.at(-1)!.id!)).done(45_000)

    const a = await onFirst.done(45_000)
    const b = await onSecond.done(45_000)
    expect(a.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded' } })
    expect(ids(b)).toEqual(ids(a))
    expect(b.map((e) => e.event)).toEqual(a.map((e) => e.event))
    expect([...ids(seen), ...ids(resumed)]).toEqual(ids(a))
    // Published by the worker process: members' calls with their figures, and text as it was written.
    expect(a.filter((e) => e.event === 'member' && e.data.state === 'succeeded').length).toBe(7)
    expect(a.some((e) => e.event === 'delta')).toBe(true)
    expect(ids(a).every((id) => /^\d+-\d+$/.test(id!))).toBe(true)
    expect(first.logs.some((line) => line.msg === 'council finished')).toBe(false) // the app did not run it
  }, 90_000)
})
