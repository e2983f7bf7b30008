/**
 * `bun run bench soak` — the real server and a real worker running councils for
 * ten minutes (SOAK_DURATION, e.g. 60s for a quick look) under a steady mixed
 * load from wrk: lists spread over 1,000 users, session reads, creates, and runs
 * of the sessions just created (the worker runs each council with the offline
 * provider, SOAK_LLM_LATENCY_MS per call). The request rate is held near
 * SOAK_RATE (wrk's delay per connection), so the run measures memory over time,
 * not peak throughput.
 *
 * Every 10 s it samples the RSS of the server and the worker (/proc), and at the
 * end reports each one's least-squares slope (MB/min) over the whole run and
 * after the first two minutes (JIT, pools and caches filling), with the spread of
 * the samples around the line: memory is "flat" when the fitted growth over the
 * window after warm-up is within 3× that spread, or under 5 MB.
 * Errors: non-2xx responses and socket errors from wrk, councils that failed or
 * never finished, and error lines in either process's log — all must be zero.
 */
import { readFileSync } from 'node:fs'
import { Queue } from 'bullmq'
import IORedis from 'ioredis'
import { startServer } from '../helpers/server'
import { startWorker } from '../helpers/worker'
import { migrateAndSeedUsers, schemaWithClient } from './schema'
import { wrk } from './wrk'

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const DURATION = flag('duration') ?? process.env.SOAK_DURATION ?? '10m'
const RATE = Number(flag('rate') ?? process.env.SOAK_RATE ?? 400)
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 20)
/** One request in RUN_EVERY creates a session, and one more runs a session created earlier. */
const RUN_EVERY = Number(process.env.SOAK_RUN_EVERY ?? 40)
const LLM_LATENCY_MS = process.env.SOAK_LLM_LATENCY_MS ?? '200'
const SAMPLE_MS = 10_000
const WARM_MS = 120_000

const seconds = (text: string) => Number(/^(\d+)/.exec(text)?.[1] ?? 0) * ({ s: 1, m: 60, h: 3600 }[/([smh])$/.exec(text)?.[1] ?? 's'] ?? 1)
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits
const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
  } catch {
    return NaN
  }
}

/** Least-squares line through (minutes, MB): slope in MB/min, and the standard deviation of the samples around it. */
function trend(samples: Array<{ minutes: number; mb: number }>) {
  const n = samples.length
  if (n < 3) return { slope: NaN, spread: NaN, growth: NaN, n }
  const mx = samples.reduce((sum, s) => sum + s.minutes, 0) / n
  const my = samples.reduce((sum, s) => sum + s.mb, 0) / n
  const sxx = samples.reduce((sum, s) => sum + (s.minutes - mx) ** 2, 0)
  const slope = samples.reduce((sum, s) => sum + (s.minutes - mx) * (s.mb - my), 0) / sxx
  const spread = Math.sqrt(samples.reduce((sum, s) => sum + (s.mb - (my + slope * (s.minutes - mx))) ** 2, 0) / (n - 2))
  const growth = slope * (samples[n - 1]!.minutes - samples[0]!.minutes)
  return { slope: round(slope, 3), spread: round(spread), growth: round(growth), n }
}

const { schema, databaseUrl, admin } = await schemaWithClient('bench_soak')
const queueName = `bench-soak-${crypto.randomUUID().slice(0, 8)}`
const cleanups: Array<() => Promise<unknown> | unknown> = []
let failed = false
try {
  await migrateAndSeedUsers(admin, schema, databaseUrl, ['bench'])
  await admin.query('analyze')

  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS,
    JOBS_BACKEND: 'bullmq',
    JOBS_QUEUE: queueName,
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
    RATE_LIMITS: 'write=9999999/1s,council-run=9999999/1s',
    DAILY_TOKEN_BUDGET: '1000000000000',
    DAILY_COST_BUDGET_USD: '1000000',
  }
  const server = await startServer({ env: { ...env, MIGRATE_ON_START: 'false' } })
  cleanups.push(() => server.stop())
  const worker = startWorker({ ...env, LLM_OFFLINE_LATENCY_MS: LLM_LATENCY_MS, JOBS_CONCURRENCY: '200' })
  cleanups.push(() => worker.stop('SIGTERM'))
  cleanups.push(async () => {
    const connection = new IORedis(REDIS, { maxRetriesPerRequest: null })
    const queue = new Queue(queueName, { connection })
    await queue.obliterate({ force: true }).catch(() => undefined)
    await queue.close()
    connection.disconnect()
  })
  await worker.ready

  // The mix, per connection: wait `delay` ms between requests to hold the rate near RATE.
  const delayMs = Math.max(0, Math.round((CONNECTIONS * 1000) / RATE))
  const script = `/tmp/bench-soak-${schema}.lua`
  cleanups.push(() => Bun.file(script).delete())
  await Bun.write(
    script,
    `
counter, made, errors, runs, creates = 0, {}, 0, 0, 0
local function user(n) return "bench" .. (n % 1000) .. "@example.com" end
function delay() return ${delayMs} end
request = function()
  counter = counter + 1
  local slot = counter % ${RUN_EVERY}
  if slot == 0 then
    creates = creates + 1
    return wrk.format("POST", "/api/v1/sessions", { ["X-User-Id"] = user(counter), ["Content-Type"] = "application/json" },
      '{"question":"Soak question of ' .. user(counter) .. ' #' .. counter .. '"}')
  end
  if slot == ${Math.floor(RUN_EVERY / 2)} and #made > 0 then
    local s = table.remove(made, 1)
    runs = runs + 1
    return wrk.format("POST", "/api/v1/sessions/" .. s.id .. "/run", { ["X-User-Id"] = s.owner })
  end
  if slot % 4 == 1 and #made > 0 then
    local s = made[1 + counter % #made]
    return wrk.format("GET", "/api/v1/sessions/" .. s.id, { ["X-User-Id"] = s.owner })
  end
  return wrk.format("GET", "/api/v1/sessions?limit=25", { ["X-User-Id"] = user(counter * 7) })
end
response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([%w%-]+)"')
    local owner = body:match('Soak question of (%S+@example%.com)')
    if id and owner and #made < 1000 then made[#made + 1] = { id = id, owner = owner } end
  elseif status >= 400 then
    errors = errors + 1
    if errors <= 5 then io.stderr:write("soak: HTTP " .. status .. " " .. body:sub(1, 300) .. "\\n") end
  end
end
-- done() runs in wrk's main Lua state: the counters live in each thread's own.
threads = {}
function setup(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local c, r, e = 0, 0, 0
  for _, t in ipairs(threads) do c = c + t:get("creates"); r = r + t:get("runs"); e = e + t:get("errors") end
  io.write("soak-lua: creates " .. c .. " runs " .. r .. " errors " .. e .. "\\n")
end
`,
  )

  const total = seconds(DURATION)
  console.log(
    `soak: ${DURATION} at ~${RATE} req/s (${CONNECTIONS} connections, ${delayMs} ms apart each), one request in ${RUN_EVERY} a create and one a run; ` +
      `worker: offline provider, ${LLM_LATENCY_MS} ms per call; RSS every ${SAMPLE_MS / 1000} s`,
  )
  const started = performance.now()
  const samples: Array<{ minutes: number; server: number; worker: number }> = []
  const sample = () => samples.push({ minutes: (performance.now() - started) / 60_000, server: rssMb(server.pid), worker: rssMb(worker.proc.pid) })
  sample()
  const timer = setInterval(() => {
    sample()
    const last = samples[samples.length - 1]!
    console.log(`  ${round(last.minutes * 60, 0)} s: server ${round(last.server, 1)} MB, worker ${round(last.worker, 1)} MB`)
  }, SAMPLE_MS)
  const load = await wrk(`${server.url}/api/v1/sessions`, { connections: CONNECTIONS, duration: DURATION, script })
  clearInterval(timer)
  sample()

  // Let the councils started near the end finish (up to a minute), then count outcomes.
  const deadline = Date.now() + 60_000
  let jobs: Record<string, number> = {}
  for (;;) {
    const { rows } = await admin.query(`select status, count(*)::int as n from jobs group by status`)
    jobs = Object.fromEntries(rows.map((row) => [row.status as string, row.n as number]))
    if (!jobs.queued && !jobs.running) break
    if (Date.now() > deadline) break
    await Bun.sleep(500)
  }
  const unfinished = (jobs.queued ?? 0) + (jobs.running ?? 0)
  const errorLines = (text: string) => text.split('\n').filter((line) => /"level":"(error|fatal)"|^error:/i.test(line))
  const serverErrors = errorLines(server.output())
  const workerErrors = errorLines(worker.output())
  const lua = /soak-lua: creates (\d+) runs (\d+) errors (\d+)/.exec(load.text)
  const after = samples.filter((s) => s.minutes * 60_000 >= WARM_MS)
  const report = (name: 'server' | 'worker') => {
    const all = trend(samples.map((s) => ({ minutes: s.minutes, mb: s[name] })))
    const warm = trend(after.map((s) => ({ minutes: s.minutes, mb: s[name] })))
    const flat = Number.isFinite(warm.growth) ? Math.abs(warm.growth) <= Math.max(3 * warm.spread, 5) : undefined
    const mbs = samples.map((s) => s[name])
    console.log(
      `${name.padEnd(6)} RSS ${round(mbs[0]!, 1)} → ${round(mbs[mbs.length - 1]!, 1)} MB (min ${round(Math.min(...mbs), 1)}, max ${round(Math.max(...mbs), 1)}); ` +
        `slope ${all.slope} MB/min over the run, ${warm.slope} MB/min after ${WARM_MS / 60_000} min (fitted growth ${warm.growth} MB, spread ±${warm.spread} MB, ${warm.n} samples) ` +
        `[${flat === undefined ? 'run too short to judge' : flat ? 'flat' : 'GROWING'}]`,
    )
    return { all, warm, flat, first: mbs[0], last: mbs[mbs.length - 1], max: Math.max(...mbs) }
  }
  const serverTrend = report('server')
  const workerTrend = report('worker')
  const errors = load.non2xx + (load.errors ? 1 : 0) + (jobs.failed ?? 0) + unfinished + serverErrors.length + workerErrors.length
  console.log(
    `requests ${load.requests} (${load.rps} req/s, p50 ${load.p50} ms, p99 ${load.p99} ms); creates ${lua?.[1] ?? '?'}, runs ${lua?.[2] ?? '?'}; ` +
      `councils ${JSON.stringify(jobs)}; non-2xx ${load.non2xx}${load.errors ? `; ${load.errors}` : ''}; error log lines: server ${serverErrors.length}, worker ${workerErrors.length} ` +
      `[errors: ${errors === 0 ? 'none' : errors}]`,
  )
  for (const line of [...serverErrors, ...workerErrors].slice(0, 5)) console.log(`  ${line.slice(0, 400)}`)
  console.log(JSON.stringify({ duration_s: total, rate: RATE, load: { ...load, text: undefined }, jobs, server: serverTrend, worker: workerTrend, samples, errors }))
  failed = errors > 0
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined)
  await admin.query(`drop schema ${schema} cascade`).catch(() => undefined)
  await admin.end()
}
process.exit(failed ? 1 : 0)
