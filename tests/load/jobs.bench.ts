/**
 * `bun run bench jobs` — all in one run, on PostgreSQL and the same Redis:
 *  (a) bare BullMQ: 5,000 no-op jobs through one worker process (the floor);
 *  (b) councils (offline provider, 3 agents, no latency) through one real worker
 *      process: councils/s and the platform's own milliseconds per council;
 *  (c) 1,000 councils enqueued at once with 1 s latency per LLM call: time until
 *      all finish against the 3 s critical path, and the worker's peak RSS.
 *  (d) the real path (issue 15): N councils (BENCH_REAL_COUNCILS, 100 and 1,000)
 *      created and run through the HTTP API at once by a client process, the
 *      OpenAI-compatible provider calling a fake endpoint in its own process
 *      (tests/load/fake-openai.ts, 1 s per call); on PostgreSQL + BullMQ with one
 *      worker and on the embedded default (BENCH_REAL_MODES=pg,embedded).
 * Targets: (b) ≥ 200 councils/s; (c) ≤ 1.5 × critical path, peak RSS < 400 MB;
 * (d) see issue 15. `BENCH_ONLY=real` (or `--only=d`) runs the real path alone.
 */
import { readFileSync } from 'node:fs'
import { Queue, QueueEvents } from 'bullmq'
import IORedis from 'ioredis'
import pg from 'pg'
import { newId } from '../../db/client'
import type { JobRow } from '../../db/schema'
import { createDeps, prepare } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'
import { startServer } from '../helpers/server'
import { startWorker } from '../helpers/worker'
import { PG, freshSchema, seedQueuedCouncils } from './schema'

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const COUNCILS_B = Number(process.env.BENCH_COUNCILS ?? 1000)
const COUNCILS_C = Number(process.env.BENCH_COUNCILS_LATENT ?? 1000)
const NOOP_JOBS = 5000

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

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
  const jobIds = await seedQueuedCouncils(stores, count)

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

// ── (d) the real path ─────────────────────────────────────────────────────────
const REAL_COUNTS = (process.env.BENCH_REAL_COUNCILS ?? '100,1000').split(',').map(Number)
const REAL_MODES = (process.env.BENCH_REAL_MODES ?? 'pg,embedded').split(',') as Array<'pg' | 'embedded'>
const REAL_DELAY_MS = Number(process.env.BENCH_REAL_DELAY_MS ?? 1000)
const CRITICAL_PATH_S = (3 * REAL_DELAY_MS) / 1000
const TICKS_PER_S = 100

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
}

/** Starts a process and resolves once a line of its stdout matches `ready`; the match is returned. */
async function spawnUntil(cmd: string[], env: Record<string, string | undefined>, ready: RegExp) {
  const proc = Bun.spawn(cmd, { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'inherit' })
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  let text = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`${cmd.join(' ')} exited before it was ready:\n${text}`)
    text += new TextDecoder().decode(value)
    const match = ready.exec(text)
    if (match) return { proc, match, reader }
  }
}

/**
 * The floor of intake on PostgreSQL: the rows `count` create + run pairs write
 * (a user on first sight, the session and its audit event; then the budget
 * hold, the reservation, the job, the session queued and its audit event), in
 * the same two transactions per pair, sent by raw `pg` on a pool of the
 * product's size, all pairs at once. Rows are copied from the product's own
 * (fresh ids), so they are as wide as the real ones. Seconds until all committed.
 */
async function intakeFloor(url: string, count: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.BENCH_DB_POOL ?? 20) })
  const sample = async (table: string) => (await pool.query(`select * from ${table} limit 1`)).rows[0] as Record<string, unknown>
  const [user, session, audit, job, usage, reservation] = await Promise.all(['users', 'sessions', 'audit_events', 'jobs', 'budget_usage', 'budget_reservations'].map(sample))
  const value = (v: unknown) => (v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v)
  const insert = (table: string, row: Record<string, unknown>, tail = '') => {
    const cols = Object.keys(row)
    return { text: `insert into ${table} (${cols.map((c) => `"${c}"`).join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ${tail}`, values: cols.map((c) => value(row[c])) }
  }
  const started = performance.now()
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const [userId, sessionId, jobId] = [newId(), newId(), newId()]
      const email = `floor-${i}-${userId}@example.com`
      const client = await pool.connect()
      try {
        await client.query('begin')
        await client.query(insert('users', { ...user, id: userId, external_id: email, email }))
        await client.query(insert('sessions', { ...session, id: sessionId, user_id: userId }))
        await client.query(insert('audit_events', { ...audit, id: newId(), actor_id: userId, session_id: sessionId, target: `session:${sessionId}` }))
        await client.query('commit')
        await client.query('begin')
        await client.query(
          insert('budget_usage', { ...usage, id: newId(), user_id: userId }, 'on conflict (user_id, day) do update set tokens_held = budget_usage.tokens_held + excluded.tokens_held where budget_usage.tokens_held + excluded.tokens_held <= 1000000000 returning id'),
        )
        await client.query(insert('budget_reservations', { ...reservation, job_id: jobId, user_id: userId }))
        await client.query(insert('jobs', { ...job, id: jobId, user_id: userId, session_id: sessionId, idempotency_key: null }))
        await client.query("update sessions set status = 'queued', error = null, updated_at = now() where id = $1", [sessionId])
        await client.query(insert('audit_events', { ...audit, id: newId(), actor_id: userId, session_id: sessionId, job_id: jobId, target: `session:${sessionId}` }))
        await client.query('commit')
      } finally {
        client.release()
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  await pool.end()
  return seconds
}

interface RealPathResult {
  mode: 'pg' | 'embedded'
  councils: number
  accepted: number
  intake_errors: string[]
  failed: number
  all_accepted_s: number
  all_finished_s: number
  critical_path_x: number
  cpu_s: { server: number; worker: number }
  cpu_ms_per_council: { server: number; worker: number; total: number }
  peak_rss_mb: { server: number; worker: number; total: number }
  /** [server, worker] resident MB every 0.5 s from the first request. */
  rss_mb_per_500ms: Array<[number, number]>
  provider: { calls: number; connections: number; peak_in_flight: number; in_flight_per_500ms: number[] }
  load_average: string
  /** PostgreSQL only: the same rows by raw pg transactions, all pairs at once, and our intake's share of that speed. */
  intake_floor?: { seconds: number; ratio: number }
}

/**
 * N councils created and run through the HTTP API all at once (a client process,
 * one user per council), the OpenAI-compatible provider calling a fake endpoint in
 * its own process; on PostgreSQL + BullMQ with one worker process, or the embedded
 * default (libsql, jobs inline in the server).
 */
async function benchRealPath(count: number, mode: 'pg' | 'embedded'): Promise<RealPathResult> {
  const fake = await spawnUntil(['bun', 'run', 'tests/load/fake-openai.ts'], { FAKE_DELAY_MS: String(REAL_DELAY_MS) }, /listening on (\d+)/)
  const fakeUrl = `http://127.0.0.1:${fake.match[1]}`
  const queue = `bench-real-${crypto.randomUUID().slice(0, 8)}`
  const schema = mode === 'pg' ? await freshSchema() : null
  const env: Record<string, string> = {
    LLM_PROVIDER: 'openai',
    OPENAI_BASE_URL: `${fakeUrl}/v1`,
    OPENAI_API_KEY: 'bench-key',
    JOBS_CONCURRENCY: String(count),
    DB_POOL_SIZE: process.env.BENCH_DB_POOL ?? '20',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    ...(schema ? { DATABASE_URL: schema.url, JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue } : { JOBS_BACKEND: 'inline' }),
  }
  const serverFlags = process.env.SERVER_BUN_FLAGS?.split(' ').filter(Boolean)
  const server = await startServer({ env, ...(serverFlags ? { bunFlags: serverFlags } : {}) }).catch((error: Error) => {
    fake.proc.kill('SIGTERM')
    throw error
  })
  const worker = schema ? startWorker(env) : null
  await worker?.ready
  // Finished councils, counted in the database the product writes.
  const finishedCount: () => Promise<{ finished: number; failed: number; total: number }> = await (async () => {
    const sql = "select count(*) filter (where status in ('succeeded', 'failed')) as finished, count(*) filter (where status = 'failed') as failed, count(*) as total from jobs"
    if (schema) {
      const client = new pg.Client({ connectionString: schema.url })
      await client.connect()
      closers.push(() => client.end())
      return async () => {
        const row = (await client.query(sql)).rows[0] as { finished: string; failed: string; total: string }
        return { finished: Number(row.finished), failed: Number(row.failed), total: Number(row.total) }
      }
    }
    const { createClient } = await import('@libsql/client')
    const client = createClient({ url: `file:${server.dataDir}/council.db` })
    closers.push(() => client.close())
    return async () => {
      const { rows } = await client.execute("select sum(status in ('succeeded', 'failed')) as finished, sum(status = 'failed') as failed, count(*) as total from jobs")
      return { finished: Number(rows[0]?.finished ?? 0), failed: Number(rows[0]?.failed ?? 0), total: Number(rows[0]?.total ?? 0) }
    }
  })()
  const cpuBefore = { server: cpuSeconds(server.pid), worker: worker ? cpuSeconds(worker.proc.pid) : 0 }
  // Resident memory of server and worker every 0.5 s from the first request: where the peak falls (intake, a stage boundary, the tail).
  const rssSeries: Array<[number, number]> = []
  const rssSampler = setInterval(() => {
    const now = (pid: number) => round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024, 0)
    try {
      rssSeries.push([now(server.pid), worker ? now(worker.proc.pid) : 0])
    } catch {}
  }, 500)
  try {
    const client = Bun.spawn(['bun', 'run', 'tests/load/intake-client.ts'], {
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '65535', INTAKE_BASE_URL: server.url, INTAKE_COUNT: String(count), INTAKE_USER_PREFIX: `real-${queue}` },
      stdout: 'pipe',
      stderr: 'inherit',
    })
    const intakeOut = new Response(client.stdout as ReadableStream<Uint8Array>).text()
    const sent = Date.now()
    let state = { finished: 0, failed: 0, total: 0 }
    let finishedAt = 0
    let intake: { started_at: number; accepted: number; failed: number; errors: string[]; all_accepted_ms: number } | null = null
    void intakeOut.then((text) => (intake = JSON.parse(text.trim().split('\n').at(-1)!)))
    for (;;) {
      state = await finishedCount().catch(() => state)
      // Every job the server wrote, including those whose answer the client lost (a reset connection).
      if (intake && state.finished >= Math.max(state.total, (intake as { accepted: number }).accepted)) {
        finishedAt = Date.now()
        break
      }
      if (Date.now() - sent > 600_000) throw new Error(`only ${state.finished} of ${count} councils finished in 10 minutes`)
      await Bun.sleep(50)
    }
    await client.exited
    clearInterval(rssSampler)
    const cpu = { server: round(cpuSeconds(server.pid) - cpuBefore.server, 2), worker: worker ? round(cpuSeconds(worker.proc.pid) - cpuBefore.worker, 2) : 0 }
    const rss = { server: peakRssMb(server.pid), worker: worker ? peakRssMb(worker.proc.pid) : 0 }
    const stats = (await (await fetch(`${fakeUrl}/stats`)).json()) as { peak: number; calls: number; connections: number; started_at: number; samples: Array<[number, number]> }
    const done = intake as unknown as { started_at: number; accepted: number; failed: number; errors: string[]; all_accepted_ms: number }
    // The fake's samples (every 100 ms, relative to its start), as the highest count of each half second after the first request.
    const perHalf: number[] = []
    for (const [at, n] of stats.samples) {
      const t = stats.started_at + at - done.started_at
      if (t < 0 || t > finishedAt - done.started_at + 500) continue
      const slot = Math.floor(t / 500)
      perHalf[slot] = Math.max(perHalf[slot] ?? 0, n)
    }
    const seconds = (finishedAt - done.started_at) / 1000
    const floor = schema && done.accepted > 0 ? round(await intakeFloor(schema.url, count), 2) : null
    return {
      ...(floor !== null && { intake_floor: { seconds: floor, ratio: round(floor / (done.all_accepted_ms / 1000), 2) } }),
      mode,
      councils: count,
      accepted: done.accepted,
      intake_errors: done.errors,
      failed: state.failed + done.failed,
      all_accepted_s: round(done.all_accepted_ms / 1000, 2),
      all_finished_s: round(seconds, 2),
      critical_path_x: round(seconds / CRITICAL_PATH_S, 2),
      cpu_s: cpu,
      cpu_ms_per_council: { server: round((cpu.server * 1000) / count), worker: round((cpu.worker * 1000) / count), total: round(((cpu.server + cpu.worker) * 1000) / count) },
      peak_rss_mb: { server: rss.server, worker: rss.worker, total: round(rss.server + rss.worker) },
      rss_mb_per_500ms: rssSeries,
      provider: { calls: stats.calls, connections: stats.connections, peak_in_flight: stats.peak, in_flight_per_500ms: Array.from(perHalf, (n) => n ?? 0) },
      load_average: (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' '),
    }
  } finally {
    for (const close of closers.splice(0)) await close()
    await worker?.stop('SIGTERM')
    await worker?.proc.exited
    await server.stop()
    fake.proc.kill('SIGTERM')
    await fake.proc.exited
    if (schema) await schema.drop()
    if (schema) {
      const redis = new IORedis(REDIS, { maxRetriesPerRequest: 1 })
      try {
        const keys = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:*`))]
        for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
      } finally {
        redis.disconnect()
      }
    }
  }
}
const closers: Array<() => unknown> = []

function printRealPath(r: RealPathResult) {
  const name = r.mode === 'pg' ? 'PostgreSQL + BullMQ, 1 worker' : 'embedded (libsql, inline)'
  const target = r.mode === 'pg' ? (r.councils >= 1000 ? 2 : 1.3) : 3
  const intakeTarget = r.mode === 'pg' ? 2 : 4
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
  console.log(
    `(d) real path, ${name}: ${r.councils} create+run pairs through the API, fake OpenAI at ${REAL_DELAY_MS} ms per call\n` +
      `    all runs accepted in ${r.all_accepted_s} s${r.councils >= 1000 ? `  [≤ ${intakeTarget} s: ${met(r.all_accepted_s <= intakeTarget)}]` : ''}; ` +
      `${r.intake_floor ? `raw-pg floor ${r.intake_floor.seconds} s (we run at ${Math.round(r.intake_floor.ratio * 100)} % of the floor's speed)  [≥ 50 %: ${met(r.intake_floor.ratio >= 0.5)}]; ` : ''}` +
      `all finished in ${r.all_finished_s} s vs ${CRITICAL_PATH_S} s critical path (${r.critical_path_x}×)  [≤ ${target}×: ${met(r.critical_path_x <= target)}]\n` +
      `    CPU ${r.cpu_s.server} s server + ${r.cpu_s.worker} s worker → ${r.cpu_ms_per_council.total} ms per council (server ${r.cpu_ms_per_council.server}, worker ${r.cpu_ms_per_council.worker}); ` +
      `peak RSS ${r.peak_rss_mb.server} + ${r.peak_rss_mb.worker} = ${r.peak_rss_mb.total} MB  [< 400 MB: ${met(r.peak_rss_mb.total < 400)}]; ` +
      `failed ${r.failed}${r.intake_errors.length ? ` (${r.intake_errors.join(' | ')})` : ''}; load average ${r.load_average}\n` +
      `    provider: ${r.provider.calls} calls on ${r.provider.connections} connections, peak ${r.provider.peak_in_flight} in flight; in flight per 0.5 s: ${r.provider.in_flight_per_500ms.join(' ')}\n` +
      `    RSS MB per 0.5 s (server/worker): ${r.rss_mb_per_500ms.map(([s, w]) => (r.mode === 'pg' ? `${s}/${w}` : `${s}`)).join(' ')}`,
  )
}

const only = process.env.BENCH_ONLY === 'real' ? ['d'] : (process.argv.find((arg) => arg.startsWith('--only='))?.slice(7).split(',') ?? ['a', 'b', 'c', 'd'])
const skipped = { jobs: 0, seconds: 0, jobs_per_s: 0, councils: 0, failed: 0, councils_per_s: 0, mean_job_ms: 0, worker_peak_rss_mb: 0, last_start_ms: 0, first_finish_ms: 0 }
console.log('jobs benchmark: PostgreSQL', new URL(PG).host, '· Redis', new URL(REDIS).host)
const a = only.includes('a') ? await benchNoop() : skipped
if (only.includes('a')) console.log(`(a) bare BullMQ no-op: ${a.jobs} jobs in ${a.seconds} s → ${a.jobs_per_s} jobs/s`)
const b = only.includes('b') ? await benchCouncils(COUNCILS_B, 0, Number(process.env.BENCH_CONCURRENCY ?? 100)) : skipped
if (only.includes('b'))
  console.log(
    `(b) councils, offline, no latency: ${b.councils} in ${b.seconds} s → ${b.councils_per_s} councils/s; ` +
      `platform ms per council (1 worker, ${process.env.BENCH_CONCURRENCY ?? 100} in flight) ${round((b.seconds * 1000) / b.councils, 2)} ms wall, mean job ${b.mean_job_ms} ms; failed ${b.failed}; peak RSS ${b.worker_peak_rss_mb} MB` +
      `  [target ≥ 200/s: ${b.councils_per_s >= 200 ? 'met' : 'NOT met'}]`,
  )
const c = only.includes('c') ? await benchCouncils(COUNCILS_C, 1000, COUNCILS_C) : skipped
if (only.includes('c'))
  console.log(
    `(c) ${c.councils} councils at once, 1 s per LLM call: all finished in ${c.seconds} s vs 3 s critical path (${round(c.seconds / 3, 2)}×); ` +
      `last started at ${c.last_start_ms} ms, first finished at ${c.first_finish_ms} ms, mean job ${c.mean_job_ms} ms; failed ${c.failed}; worker peak RSS ${c.worker_peak_rss_mb} MB  [target ≤ 4.5 s and < 400 MB: ${c.seconds <= 4.5 && c.worker_peak_rss_mb < 400 ? 'met' : 'NOT met'}]`,
  )
const d: RealPathResult[] = []
if (only.includes('d'))
  for (const mode of REAL_MODES)
    for (const count of REAL_COUNTS) {
      const result = await benchRealPath(count, mode)
      d.push(result)
      printRealPath(result)
    }
console.log(JSON.stringify({ a, b, c, d }))
