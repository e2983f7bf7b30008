/**
 * `bun run bench jobs` — all in one run, on PostgreSQL and the same Redis:
 *  (a) bare BullMQ: 5,000 no-op jobs through one worker process (the floor);
 *  (b) councils (offline provider, 3 agents, no latency) through one real worker
 *      process: councils/s and the platform's own milliseconds per council;
 *  (c) 1,000 councils enqueued at once with 1 s latency per LLM call: time until
 *      all finish against the 3 s critical path, and the worker's peak RSS.
 * Targets: (b) ≥ 200 councils/s; (c) ≤ 1.5 × critical path, peak RSS < 400 MB.
 */
import { readFileSync } from 'node:fs'
import { Queue, QueueEvents } from 'bullmq'
import IORedis from 'ioredis'
import pg from 'pg'
import { newId } from '../../db/client'
import type { JobRow, SessionRow } from '../../db/schema'
import { createDeps, prepare } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'
import { startWorker } from '../helpers/worker'

const PG = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const COUNCILS_B = Number(process.env.BENCH_COUNCILS ?? 1000)
const COUNCILS_C = Number(process.env.BENCH_COUNCILS_LATENT ?? 1000)
const NOOP_JOBS = 5000

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

async function freshSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `bench_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`
  const client = new pg.Client({ connectionString: PG })
  await client.connect()
  await client.query(`create schema ${schema}`)
  await client.end()
  const url = new URL(PG)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
    },
  }
}

/** Peak RSS of a process, from /proc (VmHWM), in MB. */
const peakRssMb = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024)
}

async function benchNoop() {
  const queueName = `bench-noop-${crypto.randomUUID().slice(0, 8)}`
  const proc = Bun.spawn(['bun', 'run', 'tests/load/noop-worker.ts', queueName, '50'], { stdout: 'pipe', stderr: 'inherit', env: process.env })
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  for (let text = ''; !text.includes('ready'); ) text += new TextDecoder().decode((await reader.read()).value)
  // BullMQ never closes a connection it was handed, so both are kept here and closed below.
  const connection = new IORedis(REDIS, { maxRetriesPerRequest: null })
  const eventsConnection = new IORedis(REDIS, { maxRetriesPerRequest: null })
  const queue = new Queue(queueName, { connection })
  const events = new QueueEvents(queueName, { connection: eventsConnection })
  await events.waitUntilReady()
  let completed = 0
  const done = new Promise<void>((resolve) => events.on('completed', () => ++completed === NOOP_JOBS && resolve()))
  const started = performance.now()
  for (let i = 0; i < NOOP_JOBS; i += 500)
    await queue.addBulk(Array.from({ length: Math.min(500, NOOP_JOBS - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { removeOnComplete: true } })))
  await done
  const seconds = (performance.now() - started) / 1000
  proc.kill('SIGTERM')
  await proc.exited
  await queue.obliterate({ force: true })
  await queue.close()
  await events.close()
  connection.disconnect()
  eventsConnection.disconnect()
  return { jobs: NOOP_JOBS, seconds: round(seconds, 2), jobs_per_s: Math.round(NOOP_JOBS / seconds) }
}

async function benchCouncils(count: number, latencyMs: number, concurrency: number) {
  const { url, drop } = await freshSchema()
  const queueName = `bench-${crypto.randomUUID().slice(0, 8)}`
  const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: url, JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queueName, LOG_LEVEL: 'error' })
  const deps = createDeps(config, { logger: createLogger({ level: 'error' }) })
  await prepare(deps)
  const { stores } = deps

  // Setup (not timed): a user, sessions and job rows, as the API would have written them.
  const userId = newId()
  const now = new Date()
  await stores.identity.insertUser({ id: userId, externalId: 'bench@example.com', email: 'bench@example.com', displayName: null, createdAt: now, lastSeenAt: null, deletedAt: null })
  const sessionRows: SessionRow[] = []
  const jobRows: JobRow[] = []
  for (let n = 0; n < count; n++) {
    const sessionId = newId()
    sessionRows.push({
      id: sessionId, userId, question: `Benchmark question ${n}: should we ship it?`, paletteId: 'default', status: 'queued',
      stage: null, partial: false, tokensIn: 0, tokensOut: 0, costMicroUsd: 0, error: null, webSearch: false, createdAt: now, updatedAt: now, deletedAt: null,
    })
    jobRows.push({
      id: newId(), kind: 'council', userId, sessionId, status: 'queued', stage: null, progress: 0, requestId: `bench-${n}`,
      role: 'user', idempotencyKey: null, input: null, output: null, error: null, attempts: 0, cancelRequested: false, createdAt: now,
      startedAt: null, finishedAt: null, heartbeatAt: null,
    })
  }
  await stores.sessions.insertMany(sessionRows)
  await stores.jobs.insertMany(jobRows)
  const jobIds = jobRows.map((row) => row.id)

  const worker = startWorker({
    DATABASE_URL: url, REDIS_URL: REDIS, JOBS_QUEUE: queueName, JOBS_CONCURRENCY: String(concurrency),
    LLM_OFFLINE_LATENCY_MS: String(latencyMs), LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error', DB_POOL_SIZE: process.env.BENCH_DB_POOL ?? '20',
  })
  await worker.ready

  const startedAt = Date.now()
  const started = performance.now()
  const connection = new IORedis(REDIS, { maxRetriesPerRequest: null })
  const queue = new Queue(queueName, { connection })
  for (let i = 0; i < jobIds.length; i += 1000)
    await queue.addBulk(jobIds.slice(i, i + 1000).map((jobId) => ({ name: 'run', data: { jobId }, opts: { jobId, attempts: 3, removeOnComplete: true } })))
  let finished = 0
  for (;;) {
    const counts = await stores.jobs.statusCounts()
    finished = (counts.succeeded ?? 0) + (counts.failed ?? 0)
    if (finished >= count) break
    if (performance.now() - started > 600_000) throw new Error(`only ${finished} of ${count} councils finished in 10 minutes`)
    await Bun.sleep(20)
  }
  const seconds = (performance.now() - started) / 1000
  const rss = peakRssMb(worker.proc.pid)
  // Not timed: every job row once (the PostgreSQL store reads them in shared statements).
  const done = (await Promise.all(jobIds.map((id) => stores.jobs.find(id)))).filter((row): row is JobRow => row !== undefined)
  const ran = done.filter((row) => row.startedAt && row.finishedAt)
  const ms = (date: Date | null) => date?.getTime() ?? 0
  await worker.stop('SIGTERM')
  await queue.obliterate({ force: true })
  await queue.close()
  connection.disconnect()
  await deps.close()
  await drop()
  return {
    councils: count,
    failed: done.filter((row) => row.status === 'failed').length,
    seconds: round(seconds, 2),
    councils_per_s: round(count / seconds),
    mean_job_ms: round(ran.reduce((sum, row) => sum + ms(row.finishedAt) - ms(row.startedAt), 0) / Math.max(1, ran.length)),
    /** When the last council started and the first finished, in ms after enqueueing began: where the time goes. */
    last_start_ms: Math.round(Math.max(...ran.map((row) => ms(row.startedAt))) - startedAt),
    first_finish_ms: Math.round(Math.min(...ran.map((row) => ms(row.finishedAt))) - startedAt),
    worker_peak_rss_mb: rss,
  }
}

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice(7).split(',') ?? ['a', 'b', 'c']
const skipped = { jobs: 0, seconds: 0, jobs_per_s: 0, councils: 0, failed: 0, councils_per_s: 0, mean_job_ms: 0, worker_peak_rss_mb: 0, last_start_ms: 0, first_finish_ms: 0 }
console.log('jobs benchmark: PostgreSQL', new URL(PG).host, '· Redis', new URL(REDIS).host)
const a = only.includes('a') ? await benchNoop() : skipped
console.log(`(a) bare BullMQ no-op: ${a.jobs} jobs in ${a.seconds} s → ${a.jobs_per_s} jobs/s`)
const b = only.includes('b') ? await benchCouncils(COUNCILS_B, 0, Number(process.env.BENCH_CONCURRENCY ?? 100)) : skipped
console.log(
  `(b) councils, offline, no latency: ${b.councils} in ${b.seconds} s → ${b.councils_per_s} councils/s; ` +
    `platform ms per council (1 worker, ${process.env.BENCH_CONCURRENCY ?? 100} in flight) ${round((b.seconds * 1000) / b.councils, 2)} ms wall, mean job ${b.mean_job_ms} ms; failed ${b.failed}; peak RSS ${b.worker_peak_rss_mb} MB` +
    `  [target ≥ 200/s: ${b.councils_per_s >= 200 ? 'met' : 'NOT met'}]`,
)
const c = only.includes('c') ? await benchCouncils(COUNCILS_C, 1000, COUNCILS_C) : skipped
console.log(
  `(c) ${c.councils} councils at once, 1 s per LLM call: all finished in ${c.seconds} s vs 3 s critical path (${round(c.seconds / 3, 2)}×); ` +
    `last started at ${c.last_start_ms} ms, first finished at ${c.first_finish_ms} ms, mean job ${c.mean_job_ms} ms; failed ${c.failed}; worker peak RSS ${c.worker_peak_rss_mb} MB  [target ≤ 4.5 s and < 400 MB: ${c.seconds <= 4.5 && c.worker_peak_rss_mb < 400 ? 'met' : 'NOT met'}]`,
)
console.log(JSON.stringify({ a, b, c }))
