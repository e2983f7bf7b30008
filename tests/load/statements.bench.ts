/**
 * `bun run bench statements` — what one spread list request costs, counted
 * rather than timed, so the figure holds on a busy machine: the app in this
 * process on PostgreSQL (app.handle, no sockets), 200 users with 3 sessions
 * each, then BENCH_REQUESTS (default 6,000) `GET /api/v1/sessions?limit=25`
 * from 50 concurrent callers, each request the next user. Reports the
 * PostgreSQL statements sent per request (by statement) and this process's
 * CPU time per request (which includes the in-process client's share).
 */
import { buildTestApp } from '../helpers/app'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 6000)
const CONCURRENCY = 50
const t = await buildTestApp({ IDENTITY_CACHE_MS: '600000' }, { dialect: 'pg' })
try {
  const users = Array.from({ length: 200 }, (_, i) => `statements${i}-${Date.now().toString(36)}@example.com`)
  for (const user of users) for (let n = 0; n < 3; n++) await t.json('POST', '/api/v1/sessions', { user, body: { question: `Question ${n}` } })
  const { handle } = t.deps.db
  if (handle.dialect !== 'pg') throw new Error('bench statements needs PostgreSQL (TEST_DATABASE_URL)')
  // drizzle sends every statement through the pool's query(); pg's types overload it, so it is wrapped untyped.
  const pool = handle.pool as unknown as { query: (config: unknown, ...rest: unknown[]) => unknown }
  const original = pool.query
  const counts = new Map<string, number>()
  pool.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    const named = config as { name?: string; text?: string } | string
    const key = typeof named === 'string' ? named : (named.name ?? named.text ?? '?')
    const label = key.replace(/\s+/g, ' ').trim().slice(0, 70)
    counts.set(label, (counts.get(label) ?? 0) + 1)
    return original.call(this, config, ...rest)
  }
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const res = await t.call('GET', '/api/v1/sessions?limit=25', { user: users[next++ % users.length]! })
        if (res.status !== 200) throw new Error(`got ${res.status}: ${await res.text()}`)
        await res.arrayBuffer()
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  const wall = performance.now() - started
  pool.query = original
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0)
  console.log(`statements benchmark: ${REQUESTS} spread list requests, ${CONCURRENCY} at a time, over ${users.length} users`)
  for (const [label, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${label}`)
  const perRequest = Math.round((total / REQUESTS) * 1000) / 1000
  const cpuUs = Math.round((used.user + used.system) / REQUESTS)
  console.log(`statements per request ${perRequest}; CPU ${cpuUs} µs per request (server and in-process client); ${Math.round(REQUESTS / (wall / 1000))} req/s`)
  console.log(JSON.stringify({ requests: REQUESTS, statements: total, per_request: perRequest, cpu_us: cpuUs }))
} finally {
  await t.close()
}
process.exit(0)
