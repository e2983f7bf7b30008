/**
 * `bun run bench http` — all in one run, on PostgreSQL seeded with 1,000 users
 * and 100,000 sessions, load from wrk (one thread on core 0, the server pinned
 * to core 1), at 50 and then 200 connections (BENCH_CONNECTIONS=50,200):
 *  (a) a bare route doing one raw primary-key select (the floor);
 *  (b) GET /api/v1/sessions/:id and (c) GET /api/v1/sessions?limit=25 through
 *      the full stack (auth, RBAC, the read's audit event, quota, metrics, logging);
 *  (c*) the list spread over the 1,000 seeded users, one user after another;
 *  (d) POST /api/v1/sessions (create), spread over 1,000 other users;
 *  (e) POST /api/v1/sessions/:id/run, each request a different seeded session
 *      of 1,000 more users, enqueued on a BullMQ queue of its own (no worker).
 * Targets at 50 connections: b ≥ 60% of a; p99 of b, c and c* < 15 ms; no errors.
 * Each part gets a short warm-up run first (JIT, prepared statements, pools),
 * not counted. (c) asks for one user's first page, so concurrent requests share
 * one statement; (c*) is what many different users listing at once cost
 * (their pages are read together: src/modules/sessions/store.pg.ts).
 * The per-user rate limits and daily budgets are lifted for (d) and (e): this
 * measures what a request costs, not the limiter. `--only=a,b,c,cs,d,e` runs some parts.
 */
import { Queue } from 'bullmq'
import IORedis from 'ioredis'
import { readFileSync } from 'node:fs'
import { startServer } from '../helpers/server'
import { PG, migrateAndSeedUsers, schemaWithClient } from './schema'
import { reportRow, wrk as runWrk, type WrkResult } from './wrk'

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DURATION = process.env.BENCH_DURATION ?? '10s'
const WARMUP = process.env.BENCH_WARMUP ?? '2s'
const LEVELS = (process.env.BENCH_CONNECTIONS ?? '50,200').split(',').map(Number)
const ONLY = process.argv.find((arg) => arg.startsWith('--only='))?.slice(7).split(',') ?? ['a', 'b', 'c', 'cs', 'd', 'e']
/** Seeded sessions (status created) that (e) runs, each once: enough for ~6,000 runs/s over every warm-up and measured run. */
const RUNNABLE_PER_USER = Number(process.env.BENCH_RUNNABLE_PER_USER ?? 150)
const USER = 'bench0@example.com'

const { schema, databaseUrl, admin } = await schemaWithClient('bench_http')
const queueName = `bench-http-${crypto.randomUUID().slice(0, 8)}`

const cleanups: Array<() => Promise<unknown> | unknown> = []
try {
  // Schema and seed (not timed).
  await migrateAndSeedUsers(admin, schema, databaseUrl, ['bench', 'runner'])
  // (e)'s sessions: created, never run, owned by the runner users.
  await admin.query(
    `insert into sessions (id, user_id, question, palette_id, status, stage, partial, tokens_in, tokens_out, cost_micro_usd, created_at, updated_at)
    select gen_random_uuid()::text, u.id, 'Run me ' || n, 'default', 'created', null, false, 0, 0, 0, now(), now()
    from generate_series(1, $1::int) n cross join users u where u.external_id like 'runner%'`,
    [RUNNABLE_PER_USER],
  )
  await admin.query('analyze')
  const { rows } = await admin.query(
    `select s.id from sessions s join users u on u.id = s.user_id where u.external_id = $1 order by s.id desc limit 1`,
    [USER],
  )
  const sessionId = rows[0].id as string
  const counts = await admin.query('select (select count(*) from users) as users, (select count(*) from sessions) as sessions')
  console.log(
    `http benchmark: PostgreSQL ${new URL(PG).host}, seeded ${counts.rows[0].users} users and ${counts.rows[0].sessions} sessions ` +
      `(100 per bench user, ${RUNNABLE_PER_USER} runnable per runner user); connections ${LEVELS.join(', ')}`,
  )

  /** utime + stime of a process, in clock ticks (1/100 s), or NaN. */
  const cpuTicks = (pid: number | undefined) => {
    if (!pid) return NaN
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return Number(fields[11]) + Number(fields[12])
  }
  const lua = async (name: string, source: string) => {
    const path = `/tmp/bench-http-${name}-${schema}.lua`
    await Bun.write(path, source)
    cleanups.push(() => Bun.file(path).delete())
    return path
  }
  // (c*): each request names the next of the seeded users.
  const spreadScript = await lua(
    'users',
    `counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format(nil, nil, { ["X-User-Id"] = "bench" .. (counter % 1000) .. "@example.com" })\nend\n`,
  )
  // (d): a JSON create, each request as the next of 1,000 creator users (created on first sight, in the warm-up).
  const createScript = await lua(
    'create',
    `counter = 0\nrequest = function()\n  counter = counter + 1\n  return wrk.format("POST", "/api/v1/sessions", { ["X-User-Id"] = "creator" .. (counter % 1000) .. "@example.com", ["Content-Type"] = "application/json" }, '{"question":"Load test question ' .. counter .. '"}')\nend\n`,
  )
  // (e): each request runs the next unused session of the file it is given ("id owner" lines), so no run repeats one.
  const runScript = await lua(
    'run',
    `ids, owners, counter = {}, {}, 0\nfunction init(args)\n  for line in io.lines(args[1]) do\n    local id, owner = line:match("(%S+) (%S+)")\n    ids[#ids + 1] = id\n    owners[#owners + 1] = owner\n  end\nend\nrequest = function()\n  counter = counter % #ids + 1\n  return wrk.format("POST", "/api/v1/sessions/" .. ids[counter] .. "/run", { ["X-User-Id"] = owners[counter] })\nend\n`,
  )
  const runnable = (
    await admin.query(
      `select s.id, u.external_id from sessions s join users u on u.id = s.user_id where s.status = 'created' and u.external_id like 'runner%' order by random()`,
    )
  ).rows.map((row) => `${row.id} ${row.external_id}`)
  let runOffset = 0
  /** The next `share` of the runnable sessions, as a file for one wrk run of (e). */
  const runFile = async (share: number) => {
    const take = Math.floor(runnable.length * share)
    const path = await lua(`run-ids-${runOffset}`, runnable.slice(runOffset, runOffset + take).join('\n') + '\n')
    runOffset += take
    return path
  }

  /**
   * A warm-up run (not counted), then the measured one; `file` gives (e) its sessions for each.
   * Also the CPU time the server process (`pid`) spent per request in the measured run
   * (utime + stime from /proc, 10 ms ticks): less sensitive to other load on the machine than latency.
   */
  const measure = async (
    target: string,
    connections: number,
    options: { pid?: number; headers?: Record<string, string>; script?: string; file?: (share: number) => Promise<string> } = {},
  ) => {
    const share = 1 / (2 * LEVELS.length)
    const args = async (part: number) => (options.file ? [await options.file(share * part)] : [])
    const warm = await runWrk(target, { connections, duration: WARMUP, headers: options.headers, script: options.script, scriptArgs: await args(0.3) })
    const before = cpuTicks(options.pid)
    const out = await runWrk(target, { connections, duration: DURATION, headers: options.headers, script: options.script, scriptArgs: await args(1.7) })
    const cpuUs = Math.round(((cpuTicks(options.pid) - before) * 10_000) / Math.max(1, out.requests))
    // A run that answered nothing, or with errors: wrk's own report, so it can be read.
    if (out.requests === 0 || out.non2xx || out.errors) console.error(`wrk on ${target} at ${connections} connections:\n${out.text}`)
    return { ...out, warmRequests: warm.requests, cpuUs, text: undefined }
  }

  // (a) the floor: its own process, pinned to core 1 like the app.
  const floor = Bun.spawn(['taskset', '-c', '1', 'bun', 'run', 'tests/load/floor-server.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0' },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  cleanups.push(() => floor.kill())
  const reader = (floor.stdout as ReadableStream<Uint8Array>).getReader()
  let banner = ''
  while (!/listening on (\d+)/.test(banner)) banner += new TextDecoder().decode((await reader.read()).value)
  const floorPort = /listening on (\d+)/.exec(banner)![1]
  await fetch(`http://127.0.0.1:${floorPort}/s/${sessionId}`)
  type Measured = Awaited<ReturnType<typeof measure>>
  const results = new Map<number, Record<string, Measured>>(LEVELS.map((level) => [level, {}]))
  if (ONLY.includes('a')) for (const level of LEVELS) results.get(level)!.a = await measure(`http://127.0.0.1:${floorPort}/s/${sessionId}`, level, { pid: floor.pid })
  floor.kill()

  // The real server, started as an operator would, pinned to core 1; runs are queued on a BullMQ queue of their own.
  const server = await startServer({
    env: {
      DATABASE_URL: databaseUrl,
      MIGRATE_ON_START: 'false',
      LOG_FILE: '',
      JOBS_BACKEND: 'bullmq',
      REDIS_URL: REDIS,
      JOBS_QUEUE: queueName,
      RATE_LIMITS: 'write=9999999/1s,council-run=9999999/1s',
      DAILY_TOKEN_BUDGET: '1000000000000',
      DAILY_COST_BUDGET_USD: '1000000',
    },
  })
  cleanups.push(() => server.stop())
  cleanups.push(async () => {
    const connection = new IORedis(REDIS, { maxRetriesPerRequest: null })
    const queue = new Queue(queueName, { connection })
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    connection.disconnect()
  })
  // Pin the running server to core 1 (taskset on the pid; the helper starts it unpinned).
  const pid = server.pid
  Bun.spawnSync(['taskset', '-a', '-p', '-c', '1', String(pid)])
  const auth = { 'X-User-Id': USER }
  const warm = await fetch(`${server.url}/api/v1/sessions/${sessionId}`, { headers: auth })
  if (warm.status !== 200) throw new Error(`warm-up got ${warm.status}: ${await warm.text()}`)
  for (const level of LEVELS) {
    const r = results.get(level)!
    if (ONLY.includes('b')) r.b = await measure(`${server.url}/api/v1/sessions/${sessionId}`, level, { pid, headers: auth })
    if (ONLY.includes('c')) r.c = await measure(`${server.url}/api/v1/sessions?limit=25`, level, { pid, headers: auth })
    if (ONLY.includes('cs')) r.cs = await measure(`${server.url}/api/v1/sessions?limit=25`, level, { pid, script: spreadScript })
    if (ONLY.includes('d')) r.d = await measure(`${server.url}/api/v1/sessions`, level, { pid, script: createScript })
    if (ONLY.includes('e')) r.e = await measure(`${server.url}/api/v1/sessions`, level, { pid, script: runScript, file: runFile })
  }

  // The read audit events the full-stack runs wrote (batched; none may be lost on graceful shutdown).
  await server.stop()
  const audited = Number((await admin.query(`select count(*)::int as n from audit_events where action = 'session.read'`)).rows[0].n)
  const runs = Number((await admin.query(`select count(*)::int as n from jobs where kind = 'council'`)).rows[0].n)

  const names: Record<string, string> = {
    a: '(a) bare Bun.serve + raw pg PK select',
    b: '(b) GET /api/v1/sessions/:id (full stack)',
    c: '(c) GET /api/v1/sessions?limit=25 (full stack)',
    cs: '(c*) the same, spread over the 1,000 users',
    d: '(d) POST /api/v1/sessions (create)',
    e: '(e) POST /api/v1/sessions/:id/run (enqueue)',
  }
  let reads = 0
  let errors = 0
  for (const level of LEVELS) {
    console.log(`— ${level} connections`)
    for (const [part, r] of Object.entries(results.get(level)!)) {
      console.log(`${reportRow(names[part]!, r as WrkResult)}   server CPU ${r.cpuUs} µs/req`)
      errors += r.non2xx + (r.errors ? 1 : 0)
      if (part === 'b') reads += r.requests + r.warmRequests
    }
  }
  const at50 = results.get(50) ?? {}
  const ratio = at50.a && at50.b ? Math.round((at50.b.rps / at50.a.rps) * 100) : NaN
  const p99 = (part: string) => at50[part]?.p99 ?? NaN
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
  console.log(
    `at 50 connections: b/a = ${ratio}% [target ≥ 60%: ${met(ratio >= 60)}]; p99 b ${p99('b')} ms, c ${p99('c')} ms, c* ${p99('cs')} ms ` +
      `[target < 15 ms: ${met(p99('b') < 15 && p99('c') < 15 && p99('cs') < 15)}]; errors (non-2xx responses, socket errors) [${errors === 0 ? 'none' : `${errors} — SEE ABOVE`}]`,
  )
  if (ONLY.includes('b'))
    console.log(
      `session.read audit events written: ${audited} for ${reads + 1} reads answered (warm-ups included; up to ${2 * LEVELS.reduce((sum, level) => sum + level, 0)} more — ` +
        `one per connection at the end of each run — may have been served after wrk stopped counting) [${audited >= reads + 1 ? 'none lost' : 'EVENTS MISSING'}]`,
    )
  if (ONLY.includes('e')) console.log(`council jobs queued by (e): ${runs}`)
  console.log(JSON.stringify({ results: Object.fromEntries(results), ratio, audited, runs }))
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined)
  await admin.query(`drop schema ${schema} cascade`).catch(() => undefined)
  await admin.end()
}
