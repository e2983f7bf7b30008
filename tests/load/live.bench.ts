/**
 * `bun run bench live` — the live session page's event stream against the
 * one-second polling it replaced, in one run: one app instance (the real
 * server, `bun run src/server.ts`) on PostgreSQL, BullMQ on Redis, and the
 * councils run by a separate worker process (offline provider with latency, so
 * councils last about as long as real ones).
 *
 *   BENCH_LIVE_COUNCILS (200) councils, one per user, all started together;
 *   BENCH_LIVE_VIEWERS (1,000) event-stream clients, spread evenly over them;
 *   BENCH_LIVE_POLLERS (100) clients polling /sessions/:id/progress every second,
 *   as the page did before (a request, its answer, one second, the next);
 *   BENCH_LIVE_LATENCY_MS (20,000) per LLM call: a council takes about three of these.
 *
 * Reports the delay from each event's publication in the worker (its `at`) to
 * its receipt by a client (p50, p99), the app's RSS (peak and at the end), and
 * HTTP requests per viewer-minute of each client kind. Targets: p99 < 100 ms,
 * RSS < 300 MB, ≥ 50× fewer requests than polling.
 */
import { readFileSync } from 'node:fs'
import IORedis from 'ioredis'
import { startServer } from '../helpers/server'
import { startWorker } from '../helpers/worker'
import { PG, freshSchema } from './schema'

// fetch keeps at most 256 requests in flight unless told otherwise; every viewer holds one open.
if (!process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) {
  const child = Bun.spawn(['bun', 'run', import.meta.path, ...process.argv.slice(2)], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '8192' },
    stdout: 'inherit',
    stderr: 'inherit',
  })
  process.exit(await child.exited)
}

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const COUNCILS = Number(process.env.BENCH_LIVE_COUNCILS ?? 200)
const VIEWERS = Number(process.env.BENCH_LIVE_VIEWERS ?? 1000)
const POLLERS = Number(process.env.BENCH_LIVE_POLLERS ?? 100)
const LATENCY_MS = Number(process.env.BENCH_LIVE_LATENCY_MS ?? 20_000)

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!)
const procMb = (pid: number, field: 'VmHWM' | 'VmRSS') =>
  round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024)

/** Runs `fn` over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

interface Council {
  user: string
  sessionId: string
  jobId: string
}

const stats = { delays: [] as number[], toRedis: [] as number[], fromRedis: [] as number[], streamRequests: 0, reconnects: 0, events: 0, viewerMs: 0, pollRequests: 0, pollerMs: 0, pollErrors: 0 }

/** One event-stream viewer: follows the job to `done`, reconnecting with Last-Event-ID if the stream breaks. */
async function view(base: string, council: Council) {
  const started = performance.now()
  let lastId: string | null = null
  for (let attempt = 0; attempt < 20; attempt++) {
    stats.streamRequests++
    if (attempt > 0) stats.reconnects++
    const headers: Record<string, string> = { 'x-user-id': council.user, accept: 'text/event-stream' }
    if (lastId) headers['last-event-id'] = lastId
    try {
      const res = await fetch(`${base}/api/v1/jobs/${council.jobId}/events`, { headers })
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`)
      const reader = res.body.getReader()
      const decoder = new TextDecoder()
      let buffer = ''
      let event = { id: null as string | null, type: '', data: '' }
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, end)
          buffer = buffer.slice(end + 1)
          if (line === '') {
            if (event.data) {
              const received = Date.now()
              const data = JSON.parse(event.data) as { at?: string }
              if (data.at) {
                const at = Date.parse(data.at)
                // The stream id's first part is Redis's clock when it stored the event: where the delay arose.
                const stored = Number(event.id?.split('-')[0])
                stats.delays.push(received - at)
                if (stored) {
                  stats.toRedis.push(stored - at)
                  stats.fromRedis.push(received - stored)
                }
              }
              stats.events++
              lastId = event.id
              if (event.type === 'done') {
                stats.viewerMs += performance.now() - started
                await reader.cancel().catch(() => undefined)
                return
              }
            }
            event = { id: null, type: '', data: '' }
          } else if (line.startsWith('id: ')) event.id = line.slice(4)
          else if (line.startsWith('event: ')) event.type = line.slice(7)
          else if (line.startsWith('data: ')) event.data += line.slice(6)
        }
      }
    } catch {
      await Bun.sleep(500)
    }
  }
  stats.viewerMs += performance.now() - started
}

/** One viewer of the old page: GET the progress fragment, wait a second after each answer, until it stops asking to be polled. */
async function poll(base: string, council: Council) {
  const started = performance.now()
  for (;;) {
    stats.pollRequests++
    try {
      const res = await fetch(`${base}/sessions/${council.sessionId}/progress?poll=1`, { headers: { 'x-user-id': council.user, 'hx-request': 'true' } })
      const html = await res.text()
      if (res.ok && !html.includes('hx-trigger=')) break
      if (!res.ok) stats.pollErrors++
    } catch {
      stats.pollErrors++
    }
    await Bun.sleep(1000)
  }
  stats.pollerMs += performance.now() - started
}

const { url, drop } = await freshSchema()
const queue = `bench-live-${crypto.randomUUID().slice(0, 8)}`
const env = { DATABASE_URL: url, JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue, LOG_LEVEL: 'warn' }
console.log(`live benchmark: ${COUNCILS} councils, ${VIEWERS} stream viewers, ${POLLERS} pollers, ${LATENCY_MS} ms per LLM call; PostgreSQL ${new URL(PG).host}, Redis ${new URL(REDIS).host}`)
const server = await startServer({ env })
try {
  // One user per council, as people watch their own; every council created and run through the API.
  const councils: Council[] = []
  await pool(Array.from({ length: COUNCILS }, (_, i) => i), 20, async (i) => {
    const user = `live-bench-${i}@example.com`
    const headers = { 'x-user-id': user, 'content-type': 'application/json' }
    const session = (await (await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ question: `Benchmark council ${i}: should we ship on Fridays?` }) })).json()) as { id: string }
    const run = (await (await fetch(`${server.url}/api/v1/sessions/${session.id}/run`, { method: 'POST', headers })).json()) as { job_id: string }
    councils.push({ user, sessionId: session.id, jobId: run.job_id })
  })
  const rssBefore = procMb(server.pid, 'VmRSS')

  // Everyone is watching before the worker starts, so every event they count is live, none replayed.
  const viewing = Promise.all(Array.from({ length: VIEWERS }, (_, i) => view(server.url, councils[i % councils.length]!)))
  const polling = Promise.all(Array.from({ length: POLLERS }, (_, i) => poll(server.url, councils[i % councils.length]!)))
  await Bun.sleep(2000)
  // How late this process's own timers fire: a measured delay includes the time the client itself was busy.
  const lags: number[] = []
  let tick = performance.now()
  const lagProbe = setInterval(() => {
    const now = performance.now()
    lags.push(Math.max(0, now - tick - 10))
    tick = now
  }, 10)
  const worker = startWorker({ ...env, JOBS_CONCURRENCY: String(COUNCILS), LLM_OFFLINE_LATENCY_MS: String(LATENCY_MS), LOG_LEVEL: 'error' })
  await worker.ready
  const started = performance.now()
  await Promise.all([viewing, polling])
  clearInterval(lagProbe)
  const seconds = (performance.now() - started) / 1000
  const peak = procMb(server.pid, 'VmHWM')
  const rssEnd = procMb(server.pid, 'VmRSS')
  await worker.stop('SIGTERM')

  const sorted = [...stats.delays].sort((a, b) => a - b)
  const toRedis = [...stats.toRedis].sort((a, b) => a - b)
  const fromRedis = [...stats.fromRedis].sort((a, b) => a - b)
  const lagSorted = lags.sort((a, b) => a - b)
  const streamPerMin = stats.streamRequests / (stats.viewerMs / 60_000)
  const pollPerMin = POLLERS > 0 ? stats.pollRequests / (stats.pollerMs / 60_000) : Number.NaN
  const result = {
    councils: COUNCILS,
    viewers: VIEWERS,
    pollers: POLLERS,
    latency_ms: LATENCY_MS,
    seconds: round(seconds),
    events_received: stats.events,
    delay_ms: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    /** The same delay in two parts: the worker until Redis stored the event, and Redis through the app to the client. */
    worker_to_redis_ms: { p50: percentile(toRedis, 50), p99: percentile(toRedis, 99) },
    redis_to_client_ms: { p50: percentile(fromRedis, 50), p99: percentile(fromRedis, 99) },
    client_timer_lag_ms: { p50: round(percentile(lagSorted, 50)), p99: round(percentile(lagSorted, 99)), max: round(lagSorted.at(-1) ?? 0) },
    load_average: (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' '),
    app_rss_mb: { before_viewers: rssBefore, peak, end: rssEnd },
    requests_per_viewer_minute: { stream: round(streamPerMin, 2), polling: round(pollPerMin, 1), ratio: round(pollPerMin / streamPerMin, 1) },
    stream_reconnects: stats.reconnects,
    poll_errors: stats.pollErrors,
  }
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
  console.log(
    `delay publication → receipt: p50 ${result.delay_ms.p50} ms, p99 ${result.delay_ms.p99} ms (max ${result.delay_ms.max}) over ${stats.events} events  [p99 < 100 ms: ${met(result.delay_ms.p99 < 100)}]` +
      `; worker → Redis p50 ${result.worker_to_redis_ms.p50} / p99 ${result.worker_to_redis_ms.p99} ms, Redis → client p50 ${result.redis_to_client_ms.p50} / p99 ${result.redis_to_client_ms.p99} ms` +
      `; the client's own timer lag p99 ${result.client_timer_lag_ms.p99} ms; load average ${result.load_average}`,
  )
  console.log(`app RSS: ${rssBefore} MB before the viewers, peak ${peak} MB, ${rssEnd} MB at the end  [< 300 MB: ${met(peak < 300)}]`)
  console.log(
    `requests per viewer-minute: stream ${result.requests_per_viewer_minute.stream}, polling ${result.requests_per_viewer_minute.polling} → ${result.requests_per_viewer_minute.ratio}× fewer  [≥ 50×: ${met(result.requests_per_viewer_minute.ratio >= 50)}]; reconnects ${stats.reconnects}, poll errors ${stats.pollErrors}; ${round(seconds)} s`,
  )
  console.log(JSON.stringify(result))
} finally {
  await server.stop()
  await drop()
  const redis = new IORedis(REDIS, { maxRetriesPerRequest: 1 })
  try {
    const keys = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:*`))]
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
  } finally {
    redis.disconnect()
  }
}
