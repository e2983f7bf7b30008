/**
 * `bun run bench admin` — on PostgreSQL (and Redis for part b), one run:
 *  (a) 10,000,000 usage events (1,000 users, 90 days, 5 models; 70 % LLM calls,
 *      25 % requests, 5 % job ends) are generated with generate_series and rolled
 *      up in SQL exactly as the live recorder keys them (src/modules/usage/recorder.ts:
 *      day rows by model, stage, role, endpoint and redacted error, hour rows for
 *      today, the same log2 duration buckets, per-user days); then a real server
 *      answers /admin (HTML), /api/admin/metrics/summary and every time_series
 *      metric at 7d and 90d: p50/p95 of each over sequential requests.
 *      Target: p95 < 50 ms each.
 *  (b) councils/s through one real BullMQ worker with USAGE_EVENTS=false and
 *      =true, alternated in the same run. Target: on ≤ 5 % slower than off.
 */
import IORedis from 'ioredis'
import { Queue } from 'bullmq'
import pg from 'pg'
import { createDeps, prepare } from '../../src/app'
import { loadConfig } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'
import { HISTOGRAM_BUCKETS } from '../../src/modules/usage/histogram'
import { startServer } from '../helpers/server'
import { startWorker } from '../helpers/worker'
import { PG, freshSchema, seedQueuedCouncils } from './schema'

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000)
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100)
const COUNCILS = Number(process.env.BENCH_COUNCILS ?? 1000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const ADMIN = 'bench-admin@example.com'

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits

/**
 * One event per g in 1..EVENTS, every attribute a deterministic function of g
 * (multiplicative hashes), so the rollup pass and the per-user pass agree.
 */
const EVENT_SQL = (events: number) => `
  select g,
    floor(((g::bigint * 2246822519) % 4294967296)::float8 / 4294967296 * 90)::int as age,
    ((g::bigint * 2654435761) % 4294967296)::float8 / 4294967296 as u1,
    (((g::bigint * 40503 + 12345) % 4294967296) * 1103515245 % 4294967296)::float8 / 4294967296 as u2,
    case when g % 20 < 14 then 'llm' when g % 20 < 19 then 'request' else 'job' end as kind
  from generate_series(1, ${events}) as g`

const ENDPOINTS = [
  'POST /api/v1/sessions', 'GET /api/v1/sessions', 'GET /api/v1/sessions/:id', 'POST /api/v1/sessions/:id/run', 'GET /api/v1/sessions/:id/results',
  'GET /api/v1/jobs/:id', 'GET /api/v1/jobs/:id/events', 'GET /sessions', 'GET /sessions/:id', 'POST /sessions', 'GET /api/v1/me/usage', 'GET /admin',
]
const ERRORS = ['Provider <n> for job <id>: rate limited', 'Provider timed out after <n> s', 'Budget stopped: daily cost budget reached', 'All members failed', 'Synthesis failed: empty answer']

/** The fine-grained aggregate of all events (one 10M-row pass): every rollup row is a sum over it. */
const FINE_SQL = (events: number) => `
  create unlogged table bench_fine as
  select to_char((now() at time zone 'utc')::date - age, 'YYYY-MM-DD') as day,
    case when age = 0 then to_char((now() at time zone 'utc')::date, 'YYYY-MM-DD') || 'T' || lpad(((g / 90) % (extract(hour from now() at time zone 'utc')::int + 1))::text, 2, '0') end as hour,
    kind,
    case when kind = 'llm' then 'model-' || floor(u2 * 5)::int end as model,
    case when kind = 'llm' then (array['draft','review','synthesis'])[1 + (g / 20) % 3] when kind = 'job' then 'council' end as stage,
    case when floor(u1 * 1000)::int % 10 = 0 then 'admin' when floor(u1 * 1000)::int % 10 = 1 then 'auditor' else 'user' end as role,
    case when kind = 'request' then (array[${ENDPOINTS.map((e) => `'${e}'`).join(',')}])[1 + (g / 20) % ${ENDPOINTS.length}] end as endpoint,
    case when kind = 'request' then (u2 < 0.01)::int when kind = 'llm' then ((g / 7) % 100 = 0)::int else ((g / 20) % 50 = 0)::int end as err,
    case when kind = 'request' then (u2 >= 0.01 and u2 < 0.05)::int else 0 end as client_err,
    case when kind = 'job' and (g / 20) % 50 = 0 then (array[${ERRORS.map((e) => `'${e}'`).join(',')}])[1 + (g / 1000) % ${ERRORS.length}] end as error,
    least(${HISTOGRAM_BUCKETS - 1}, greatest(0, ceil(ln(greatest(1, d)) / ln(2))))::int as b,
    count(*) as n,
    sum(case when kind = 'llm' then 300 + g % 700 else 0 end) as tokens_in,
    sum(case when kind = 'llm' then 100 + g % 300 else 0 end) as tokens_out,
    sum(case when kind = 'llm' then (300 + g % 700) * 2 + (100 + g % 300) * 6 else 0 end) as cost,
    sum(round(d)) as duration
  from (
    select e.*, case when kind = 'llm' then 200 * power(2, u2 * 7) when kind = 'request' then 2 * power(2, u1 * 8) else 3000 * power(2, u2 * 4) end as d
    from (${EVENT_SQL(events)}) e
  ) x
  group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11`

const HIST = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}`)

/** The rollup rows of one kind and dimension at one grain, as the recorder keys them. */
function rollupInsert(grain: 'day' | 'hour', kind: string, dim: string, keyExpr: string, where: string, countedKind = kind): string {
  const bucket = grain === 'day' ? 'day' : 'hour'
  return `
  insert into usage_rollups (id, grain, bucket, kind, dim, key, count, errors, client_errors, tokens_in, tokens_out, cost_micro_usd, duration_ms, ${HIST.join(', ')})
  select '${grain}|${kind}|${dim}|' || ${bucket} || '|' || ${keyExpr}, '${grain}', ${bucket}, '${kind}', '${dim}', ${keyExpr},
    sum(n), ${kind === 'session' ? '0' : 'sum(n * err)'}, ${kind === 'session' ? '0' : 'sum(n * client_err)'}, sum(tokens_in), sum(tokens_out), sum(cost),
    ${kind === 'session' ? '0' : 'sum(duration)'}, ${HIST.map((_, i) => (kind === 'session' ? '0' : `coalesce(sum(n) filter (where b = ${i}), 0)`)).join(', ')}
  from bench_fine where kind = '${countedKind}' and ${bucket} is not null and (${where})
  group by ${bucket}${keyExpr.startsWith("'") ? '' : `, ${keyExpr}`}`
}

async function seed(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const timed = async (label: string, sql: string) => {
    const started = performance.now()
    const result = await client.query(sql)
    console.log(`  ${label}: ${round((performance.now() - started) / 1000, 1)} s${result.rowCount !== null ? ` (${result.rowCount.toLocaleString('en-US')} rows)` : ''}`)
  }
  try {
    await client.query('set work_mem = \'256MB\'')
    await timed(`${EVENTS.toLocaleString('en-US')} events → fine aggregate`, FINE_SQL(EVENTS))
    const combos: Array<[string, string, string, string, string?]> = [
      ['llm', 'total', "''", 'true'],
      ['llm', 'model', 'model', 'true'],
      ['llm', 'stage', 'stage', 'true'],
      ['llm', 'role', 'role', 'true'],
      ['request', 'total', "''", 'true'],
      ['request', 'endpoint', 'endpoint', 'true'],
      ['job', 'total', "''", 'true'],
      ['job', 'stage', 'stage', 'true'],
      ['job', 'role', 'role', 'true'],
      ['job', 'error', 'error', 'err = 1'],
      ['session', 'total', "''", "endpoint in ('POST /api/v1/sessions', 'POST /sessions') and err = 0 and client_err = 0", 'request'],
      ['session', 'role', 'role', "endpoint in ('POST /api/v1/sessions', 'POST /sessions') and err = 0 and client_err = 0", 'request'],
    ]
    for (const grain of ['day', 'hour'] as const)
      for (const [kind, dim, key, where, counted] of combos) await timed(`rollups ${grain} ${kind}/${dim}`, rollupInsert(grain, kind, dim, key, where, counted))
    await timed(
      'usage_user_days (second pass over the events)',
      `insert into usage_user_days (id, user_id, day, events, tokens, cost_micro_usd)
       select 'bench-user-' || u || '|' || day, 'bench-user-' || u, day, count(*), sum(tok), sum(cost)
       from (select floor(u1 * 1000)::int as u, to_char((now() at time zone 'utc')::date - age, 'YYYY-MM-DD') as day,
               case when kind = 'llm' then 400 + g % 700 + g % 300 else 0 end as tok,
               case when kind = 'llm' then (300 + g % 700) * 2 + (100 + g % 300) * 6 else 0 end as cost
             from (${EVENT_SQL(EVENTS)}) e) x
       group by u, day`,
    )
    // What the live path's flush adds beside the user days: one `activity` count per person's first event of a day, and each person's last day.
    await timed(
      'activity rollups and usage_users',
      `with a as (insert into usage_rollups (id, grain, bucket, kind, dim, key, count, errors, client_errors, tokens_in, tokens_out, cost_micro_usd, duration_ms)
         select 'day|activity|total|' || day || '|', 'day', day, 'activity', 'total', '', count(*), 0, 0, 0, 0, 0, 0 from usage_user_days group by day)
       insert into usage_users (user_id, first_day, last_day) select user_id, min(day), max(day) from usage_user_days group by user_id`,
    )
    await client.query('drop table bench_fine')
    await client.query('analyze usage_rollups')
    await client.query('analyze usage_user_days')
    const counts = await client.query(
      "select (select count(*) from usage_rollups) as rollups, (select sum(count) from usage_rollups where grain = 'day' and dim = 'total' and kind in ('llm', 'request', 'job')) as events, (select count(*) from usage_user_days) as user_days",
    )
    return counts.rows[0] as { rollups: string; events: string; user_days: string }
  } finally {
    await client.end()
  }
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!

async function measureReads(url: string) {
  const server = await startServer({ env: { DATABASE_URL: url, ADMIN_EMAILS: ADMIN, LOG_LEVEL: 'error', DB_POOL_SIZE: '10' } })
  const results: Array<{ path: string; p50_ms: number; p95_ms: number; status: number; bytes: number }> = []
  try {
    const headers = { 'x-user-id': ADMIN }
    const paths: string[] = []
    for (const window of ['7d', '90d']) {
      paths.push(`/admin?window=${window}`, `/api/admin/metrics/summary?window=${window}`)
      for (const metric of ['sessions', 'tokens', 'cost', 'errors', 'active_users', 'duration_p95']) paths.push(`/api/admin/metrics/time_series?metric=${metric}&window=${window}`)
      paths.push(
        `/api/admin/metrics/time_series?metric=tokens&window=${window}&group_by=model`,
        `/api/admin/metrics/time_series?metric=duration_p95&window=${window}&group_by=stage`,
        `/api/admin/metrics/time_series?metric=errors&window=${window}&group_by=endpoint`,
      )
    }
    for (const path of paths) {
      let status = 0
      let bytes = 0
      for (let i = 0; i < 5; i++) await (await fetch(`${server.url}${path}`, { headers })).arrayBuffer()
      const times: number[] = []
      for (let i = 0; i < SAMPLES; i++) {
        const started = performance.now()
        const res = await fetch(`${server.url}${path}`, { headers })
        const body = await res.arrayBuffer()
        times.push(performance.now() - started)
        status = res.status
        bytes = body.byteLength
      }
      times.sort((a, b) => a - b)
      const row = { path, p50_ms: round(percentile(times, 0.5), 1), p95_ms: round(percentile(times, 0.95), 1), status, bytes }
      results.push(row)
      console.log(`  ${path}: p50 ${row.p50_ms} ms, p95 ${row.p95_ms} ms (HTTP ${status}, ${bytes} bytes)${row.p95_ms < 50 && status === 200 ? '' : '  ← NOT met'}`)
    }
  } finally {
    await server.stop()
  }
  return results
}

/** Councils/s through one real worker process (offline provider, no latency), with usage events on or off. */
async function councilsPerSecond(usage: boolean) {
  const { url, drop } = await freshSchema()
  const queueName = `bench-admin-${crypto.randomUUID().slice(0, 8)}`
  const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: url, JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queueName, LOG_LEVEL: 'error' })
  const deps = createDeps(config, { logger: createLogger({ level: 'error' }) })
  await prepare(deps)
  const { stores } = deps
  const jobIds = await seedQueuedCouncils(stores, COUNCILS)
  const worker = startWorker({
    DATABASE_URL: url, REDIS_URL: REDIS, JOBS_QUEUE: queueName, JOBS_CONCURRENCY: '100', LLM_OFFLINE_LATENCY_MS: '0',
    LOG_LEVEL: 'error', DB_POOL_SIZE: '20', USAGE_EVENTS: String(usage),
  })
  await worker.ready
  const connection = new IORedis(REDIS, { maxRetriesPerRequest: null })
  const queue = new Queue(queueName, { connection })
  const started = performance.now()
  for (let i = 0; i < jobIds.length; i += 1000)
    await queue.addBulk(jobIds.slice(i, i + 1000).map((jobId) => ({ name: 'run', data: { jobId }, opts: { jobId, attempts: 3, removeOnComplete: true } })))
  for (;;) {
    const counts = await stores.jobs.statusCounts()
    if ((counts.succeeded ?? 0) + (counts.failed ?? 0) >= COUNCILS) break
    if (performance.now() - started > 600_000) throw new Error('councils did not finish in 10 minutes')
    await Bun.sleep(20)
  }
  const seconds = (performance.now() - started) / 1000
  await worker.stop('SIGTERM')
  // The worker's last flush happened on shutdown: the rollups hold every call.
  const summary = usage ? await stores.usage.totals({ grain: 'day', from: '0000', to: '9999' }) : []
  const llmCalls = summary.find((row) => row.kind === 'llm' && row.dim === 'total')?.count ?? 0
  await queue.obliterate({ force: true })
  await queue.close()
  connection.disconnect()
  await deps.close()
  await drop()
  return { usage, seconds: round(seconds, 2), councils_per_s: round(COUNCILS / seconds), llm_calls_rolled_up: llmCalls }
}

const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice(7).split(',') ?? ['a', 'b']
console.log('admin benchmark: PostgreSQL', new URL(PG).host, '· Redis', new URL(REDIS).host)
let reads: Awaited<ReturnType<typeof measureReads>> = []
let seeded: Awaited<ReturnType<typeof seed>> | null = null
if (only.includes('a')) {
  const schema = await freshSchema()
  try {
    const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: schema.url, LOG_LEVEL: 'error' })
    const deps = createDeps(config, { logger: createLogger({ level: 'error' }) })
    await prepare(deps)
    await deps.close()
    console.log('(a) seeding')
    const started = performance.now()
    seeded = await seed(schema.url)
    console.log(`  seeded in ${round((performance.now() - started) / 1000, 1)} s: ${Number(seeded.events).toLocaleString('en-US')} events in ${Number(seeded.rollups).toLocaleString('en-US')} rollup rows, ${Number(seeded.user_days).toLocaleString('en-US')} user days`)
    console.log(`(a) reads, ${SAMPLES} sequential requests each`)
    reads = await measureReads(schema.url)
  } finally {
    await schema.drop()
  }
  const worst = Math.max(...reads.map((r) => r.p95_ms))
  console.log(`(a) worst p95 ${worst} ms  [target < 50 ms each: ${reads.every((r) => r.p95_ms < 50 && r.status === 200) ? 'met' : 'NOT met'}]`)
}
const councils: Array<Awaited<ReturnType<typeof councilsPerSecond>>> = []
if (only.includes('b')) {
  console.log(`(b) ${COUNCILS} councils per run, usage events off/on alternated, ${ROUNDS} rounds`)
  for (let r = 0; r < ROUNDS; r++)
    for (const usage of r % 2 === 0 ? [false, true] : [true, false]) {
      const result = await councilsPerSecond(usage)
      councils.push(result)
      console.log(`  usage ${usage ? 'on ' : 'off'}: ${result.councils_per_s} councils/s (${result.seconds} s)${usage ? `, ${result.llm_calls_rolled_up} LLM calls rolled up` : ''}`)
    }
  const mean = (on: boolean) => {
    const runs = councils.filter((c) => c.usage === on)
    return runs.reduce((sum, c) => sum + c.councils_per_s, 0) / runs.length
  }
  const off = mean(false)
  const on = mean(true)
  const slower = round(((off - on) / off) * 100, 1)
  console.log(`(b) mean off ${round(off)} councils/s, on ${round(on)} councils/s: ${slower} % slower  [target ≤ 5 %: ${slower <= 5 ? 'met' : 'NOT met'}]`)
}
console.log(JSON.stringify({ seeded, reads, councils }))
process.exit(0)
