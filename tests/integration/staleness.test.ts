/**
 * Staleness alerts with a real worker process (`bun run worker`) on the real
 * Redis: stopping the worker turns /readyz degraded (its heartbeat ages past
 * READYZ_WORKER_DEGRADED_MS) and raises exactly one alert — one error log line
 * and one POST to ALERT_WEBHOOK_URL (a local HTTP sink) — however many checks
 * run while it stays stale; starting a worker again clears it with exactly one
 * "resolved" of each.
 */
import { afterAll, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startWorker, type WorkerProcess } from '../helpers/worker'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

let app: TestApp | undefined
const workers: WorkerProcess[] = []
const received: Array<Record<string, unknown>> = []
const sink = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    received.push((await request.json()) as Record<string, unknown>)
    return new Response(null, { status: 204 })
  },
})

afterAll(async () => {
  for (const worker of workers) await worker.stop('SIGKILL')
  await app?.close()
  await sink.stop(true)
})

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

test('worker stopped → /readyz degraded, one alert and one webhook call; started again → one resolved', async () => {
  const queue = `test-stale-${crypto.randomUUID().slice(0, 8)}`
  const shared = { REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue, WORKER_HEARTBEAT_MS: '100', READYZ_WORKER_DEGRADED_MS: '1000' }
  const t = (app = await buildTestApp({
    ...shared,
    JOBS_BACKEND: 'bullmq',
    STALENESS_CHECK_MS: '100',
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${sink.port}/alerts`,
  }))
  const spawn = () => {
    const worker = startWorker({ ...shared, DATABASE_URL: t.config.db.url })
    workers.push(worker)
    return worker
  }
  const alerts = (msg: string) => t.logs.filter((line) => line.msg === msg)
  const readyz = async () => (await t.json('GET', '/readyz')).body

  const first = spawn()
  await first.ready
  t.deps.background.staleness!.start()
  await waitFor('/readyz ok with the worker', async () => (await readyz()).status === 'ok')
  expect((await readyz()).components.worker).toMatchObject({ status: 'ok', workers: 1, heartbeat_age_ms: expect.any(Number) })
  await Bun.sleep(500)
  expect(alerts('staleness alert')).toHaveLength(0)
  expect(received).toHaveLength(0)

  await first.stop('SIGTERM')
  const degraded = await waitFor('/readyz degraded', async () => {
    const report = await readyz()
    return report.status === 'degraded' && report
  })
  expect(degraded.components.worker).toMatchObject({ status: 'degraded', workers: 0 })
  expect(degraded.components.worker.heartbeat_age_ms).toBeGreaterThan(1000)
  await waitFor('the alert', async () => alerts('staleness alert').length > 0 && received.length > 0)
  // Many checks later (every 100 ms), still exactly one of each.
  await Bun.sleep(1000)
  expect(alerts('staleness alert')).toHaveLength(1)
  expect(alerts('staleness alert')[0]).toMatchObject({ level: 'error', signal: 'worker_heartbeat', state: 'firing', threshold_ms: 1000 })
  expect(received).toHaveLength(1)
  expect(received[0]).toMatchObject({ type: 'staleness_alert', signal: 'worker_heartbeat', state: 'firing', threshold_ms: 1000 })
  expect(alerts('staleness resolved')).toHaveLength(0)

  const second = spawn()
  await second.ready
  await waitFor('the resolved alert', async () => alerts('staleness resolved').length > 0 && received.length > 1)
  await Bun.sleep(1000)
  expect(alerts('staleness resolved')).toHaveLength(1)
  expect(alerts('staleness alert')).toHaveLength(1)
  expect(received).toHaveLength(2)
  expect(received[1]).toMatchObject({ type: 'staleness_alert', signal: 'worker_heartbeat', state: 'resolved' })
  expect((await readyz()).status).toBe('ok')
}, 60_000)
