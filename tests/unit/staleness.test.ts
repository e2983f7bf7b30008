/**
 * The staleness monitor on a queue whose health the test sets: one alert (log
 * line and webhook) when an age passes its threshold, none more while it stays
 * there, one "resolved" when it comes back; a queue that cannot be read
 * changes nothing. (With a real worker process: tests/integration/staleness.test.ts.)
 */
import { expect, test } from 'bun:test'
import type { QueueHealth } from '../../plugins/jobs'
import { createLogger } from '../../plugins/logging/logger'
import { createStalenessMonitor } from '../../src/modules/status/staleness'

test('worker heartbeat and backlog: one alert each while stale, one resolved each, no repeats; unreadable queue ignored', async () => {
  let now = 1_000_000
  let health: QueueHealth | Error = { backend: 'bullmq', waiting: 0, active: 0, workers: 1, last_heartbeat_at: now, oldest_waiting_at: null }
  const lines: Array<Record<string, unknown>> = []
  const posts: Array<Record<string, unknown>> = []
  const monitor = createStalenessMonitor({
    queue: { health: async () => (health instanceof Error ? Promise.reject(health) : health) },
    thresholds: { worker: { degradedMs: 1000, failMs: 5000 }, backlog: { degradedMs: 2000, failMs: 9000 } },
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) }),
    webhook: { url: 'http://alerts.invalid/hook', timeoutMs: 100 },
    send: (async (_url: string, init: RequestInit) => {
      posts.push(JSON.parse(String(init.body)))
      return new Response(null, { status: 204 })
    }) as typeof fetch,
    now: () => now,
  })
  const messages = () => lines.filter((line) => String(line.msg).startsWith('staleness')).map((line) => `${line.msg}:${line.signal}`)

  await monitor.check()
  expect(messages()).toEqual([])
  now += 1500
  health = { ...health, waiting: 1, oldest_waiting_at: now - 100 }
  for (let i = 0; i < 5; i++) await monitor.check()
  expect(messages()).toEqual(['staleness alert:worker_heartbeat'])
  now += 3000
  health = new Error('Redis is not reachable')
  await monitor.check()
  health = { backend: 'bullmq', waiting: 1, active: 0, workers: 1, last_heartbeat_at: now - 4500, oldest_waiting_at: now - 3100 }
  await monitor.check()
  await monitor.check()
  expect(messages()).toEqual(['staleness alert:worker_heartbeat', 'staleness alert:queue_backlog'])
  health = { backend: 'bullmq', waiting: 0, active: 0, workers: 1, last_heartbeat_at: now, oldest_waiting_at: null }
  await monitor.check()
  await monitor.check()
  await monitor.flush()
  expect(messages()).toEqual(['staleness alert:worker_heartbeat', 'staleness alert:queue_backlog', 'staleness resolved:worker_heartbeat', 'staleness resolved:queue_backlog'])
  expect(posts.map((post) => `${post.signal}:${post.state}`)).toEqual(['worker_heartbeat:firing', 'queue_backlog:firing', 'worker_heartbeat:resolved', 'queue_backlog:resolved'])
  expect(lines.find((line) => line.msg === 'staleness alert')).toMatchObject({ level: 'error', type: 'staleness_alert', age_ms: 1500, threshold_ms: 1000 })
  expect(monitor.firing()).toEqual([])
})

test('a worker never seen is not an alert at start-up: it fires once the threshold has passed since the monitor started', async () => {
  let now = 2_000_000
  const lines: Array<Record<string, unknown>> = []
  const monitor = createStalenessMonitor({
    queue: { health: async () => ({ backend: 'bullmq', waiting: 0, active: 0, workers: 0, last_heartbeat_at: null, oldest_waiting_at: null }) },
    thresholds: { worker: { degradedMs: 1000, failMs: 5000 }, backlog: { degradedMs: 2000, failMs: 9000 } },
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) }),
    webhook: { url: null, timeoutMs: 100 },
    now: () => now,
  })
  const alerts = () => lines.filter((line) => line.msg === 'staleness alert').map((line) => line.signal)
  await monitor.check()
  now += 1000
  await monitor.check()
  expect(alerts()).toEqual([])
  now += 1
  await monitor.check()
  expect(alerts()).toEqual(['worker_heartbeat'])
  expect(lines.find((line) => line.msg === 'staleness alert')).toMatchObject({ age_ms: null, threshold_ms: 1000 })
})
