/**
 * Scaling out, proven (issue 13 item 4): TWO app instances (`bun run src/server.ts`) and
 * TWO workers (`bun run workers/council.ts`), each a separate process with its own DATA_DIR
 * (nothing on local disk is shared), on one PostgreSQL schema, one Redis (BullMQ queue,
 * event streams, rate-limit counters under unique names) and one S3 store (s3rver):
 *  - a document uploaded through instance 1 is read by a worker from S3 (no instance's or
 *    worker's DATA_DIR holds an object), and the council that cites it is enqueued through
 *    instance 2 and followed to `done` on instance 1's event stream;
 *  - with each worker taking one job at a time, two councils at once run on both workers;
 *  - a per-user rate limit is hit by requests split over both instances, and a daily
 *    budget reserved on one instance refuses a run on the other;
 *  - a role binding revoked on instance 1 is refused on instance 2 within IDENTITY_CACHE_MS.
 * Runs in the `ops` step of `bun run test`, which has PostgreSQL.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import IORedis from 'ioredis'
import { createObjectStorage } from '../../plugins/storage'
import { testConfig } from '../../src/config'
import { privateSchema } from '../helpers/databases'
import { startS3Server, type S3TestServer } from '../helpers/s3'
import { startServer, type RunningServer } from '../helpers/server'
import { readSse } from '../helpers/sse'
import { uploadForm } from '../helpers/uploads'
import { startWorker, type WorkerProcess } from '../helpers/worker'

const ROOT = resolve(import.meta.dir, '../..')
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'
const id = crypto.randomUUID().replaceAll('-', '').slice(0, 10)
const QUEUE = `scale-${id}`
const IDENTITY_CACHE_MS = 2000
/** Per offline LLM call: a council (3 sequential stages) then keeps its worker busy ≥ 1.5 s, long enough for the other worker to take the second. */
const LATENCY_MS = 500
const RATE_LIMIT = 4
/** The default palette's worst case: 3 members draft and review, the chair synthesises — 7 calls of MAX_TOKENS in and out. */
const MAX_TOKENS = 500
const WORST_CASE = 7 * 2 * MAX_TOKENS
/** One council fits a day's budget; a second does not, whether the first still holds its reservation or has settled its (non-zero) use. */
const DAILY_TOKENS = WORST_CASE + 50
const ADMIN = `admin-${id}@example.com`
const users = Object.fromEntries(['alice', 'bob', 'carol', 'erin'].map((name) => [name, `${name}-${id}@example.com`]))

let schema: Awaited<ReturnType<typeof privateSchema>> | undefined
let s3: S3TestServer | undefined
const apps: RunningServer[] = []
const workers: WorkerProcess[] = []
const workerDirs: string[] = []
/** Directories this test made besides the servers' own (startServer removes those). */
const scratchDirs: string[] = []

/** What every process gets: the shared services, and the limits this test drives. */
const sharedEnv = (): Record<string, string> => ({
  DATABASE_URL: schema!.url,
  MIGRATE_ON_START: 'false',
  REDIS_URL,
  JOBS_BACKEND: 'bullmq',
  JOBS_QUEUE: QUEUE,
  EVENTS_BACKEND: 'redis',
  EVENTS_PREFIX: `${QUEUE}-events`,
  QUOTA_BACKEND: 'redis',
  QUOTA_PREFIX: `${QUEUE}-quota`,
  ...s3!.env,
  RETENTION_INTERVAL_MS: '0',
  ADMIN_EMAILS: ADMIN,
  IDENTITY_CACHE_MS: String(IDENTITY_CACHE_MS),
  RATE_LIMITS: `write=${RATE_LIMIT}/60s`,
  DAILY_TOKEN_BUDGET: String(DAILY_TOKENS),
  COUNCIL_MAX_TOKENS: String(MAX_TOKENS),
  LLM_OFFLINE_LATENCY_MS: String(LATENCY_MS),
})

async function call(app: RunningServer, method: string, path: string, user: string, body?: unknown) {
  const headers: Record<string, string> = { 'x-user-id': user }
  let payload: BodyInit | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const res = await fetch(`${app.url}${path}`, { method, headers, body: payload })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : null }
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in ${timeoutMs} ms: ${JSON.stringify(value)}\n${workers.map((w, i) => `worker ${i + 1}:\n${w.output().slice(-2000)}`).join('\n')}`)
    await Bun.sleep(100)
  }
}

beforeAll(async () => {
  schema = await privateSchema('scale')
  s3 = await startS3Server({ bucket: `scale-${id}` })
  const migrateDir = mkdtempSync(join(tmpdir(), 'scale-migrate-'))
  scratchDirs.push(migrateDir)
  const migrate = Bun.spawn(['bun', 'run', 'scripts/migrate.ts'], {
    cwd: ROOT,
    env: { ...process.env, APP_ENV: 'development', DATA_DIR: migrateDir, LOG_FILE: '', DATABASE_URL: schema.url },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if ((await migrate.exited) !== 0) throw new Error(`migrate failed: ${await new Response(migrate.stderr).text()}`)

  const env = sharedEnv()
  for (let i = 0; i < 2; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'scale-worker-'))
    workerDirs.push(dataDir)
    // One job at a time each, so two councils at once must run on both.
    workers.push(startWorker({ ...env, DATA_DIR: dataDir, JOBS_CONCURRENCY: '1' }))
  }
  const started = await Promise.allSettled([startServer({ env }), startServer({ env })])
  for (const result of started) if (result.status === 'fulfilled') apps.push(result.value)
  for (const result of started) if (result.status === 'rejected') throw result.reason
  await Promise.all(workers.map((worker) => worker.ready))
}, 60_000)

afterAll(async () => {
  await Promise.all([...workers.map((worker) => worker.stop('SIGTERM')), ...apps.map((app) => app.stop())])
  await s3?.stop()
  await schema?.drop()
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    const keys = [...(await redis.keys(`bull:${QUEUE}:*`)), ...(await redis.keys(`${QUEUE}*`))]
    if (keys.length > 0) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
  for (const dir of [...workerDirs, ...scratchDirs]) rmSync(dir, { recursive: true, force: true })
}, 60_000)

test('2 apps + 2 workers, no shared disk: upload on 1, run on 2, stream on 1 to done; both workers run councils; budgets hold across instances', async () => {
  const [one, two] = apps as [RunningServer, RunningServer]
  const palette = (await call(one, 'GET', '/api/v1/palettes', users.alice!)).body.items.find((p: any) => p.id === 'default')
  expect(palette.agents.length).toBe(3) // WORST_CASE assumes it

  // Upload through instance 1: the file goes to S3 and a worker reads it from there.
  const uploadedAt = performance.now()
  const created = await call(one, 'POST', '/api/v1/sessions', users.alice!, uploadForm({ question: 'What did the board decide about pricing?' }, [
    { name: 'minutes.txt', bytes: 'The board decided to raise enterprise pricing by eight percent from the first of March.', type: 'text/plain' },
  ]))
  expect(created.status).toBe(201)
  const sessionId = created.body.id as string
  const documents = await until(
    () => call(two, 'GET', `/api/v1/sessions/${sessionId}/documents`, users.alice!),
    (res) => res.body.items.every((d: any) => d.status !== 'pending' && d.status !== 'extracting'),
    'extraction of the upload',
  )
  expect(documents.body.items.map((d: any) => [d.filename, d.status])).toEqual([['minutes.txt', 'extracted']])
  const extractedMs = performance.now() - uploadedAt

  // Two councils at once, both enqueued through instance 2: Alice's (with the document) and Carol's.
  const carolSession = await call(one, 'POST', '/api/v1/sessions', users.carol!, { question: 'Should we open an office in Lisbon?' })
  expect(carolSession.status).toBe(201)
  const [aliceRun, carolRun] = await Promise.all([
    call(two, 'POST', `/api/v1/sessions/${sessionId}/run`, users.alice!),
    call(two, 'POST', `/api/v1/sessions/${carolSession.body.id}/run`, users.carol!),
  ])
  expect([aliceRun.status, carolRun.status]).toEqual([202, 202])
  const enqueuedAt = performance.now()

  // Budgets across instances: Carol's run, reserved through instance 2, leaves no room for another through instance 1.
  const second = await call(one, 'POST', '/api/v1/sessions', users.carol!, { question: 'And in Porto?' })
  const refused = await call(one, 'POST', `/api/v1/sessions/${second.body.id}/run`, users.carol!)
  expect({ status: refused.status, code: refused.body?.error?.code }).toEqual({ status: 429, code: 'budget_exceeded' })
  const usage = (await call(one, 'GET', '/api/v1/me/usage', users.carol!)).body
  expect(usage.tokens.limit).toBe(DAILY_TOKENS)
  expect(usage.tokens.used + usage.tokens.reserved).toBeGreaterThan(DAILY_TOKENS - WORST_CASE)

  // Alice's council, followed on instance 1 to the end.
  const controller = new AbortController()
  const res = await fetch(`${one.url}/api/v1/jobs/${aliceRun.body.job_id}/events`, { headers: { 'x-user-id': users.alice! }, signal: controller.signal })
  expect(res.status).toBe(200)
  const events = await readSse(res, controller).done(45_000)
  expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded' } })
  const doneMs = performance.now() - enqueuedAt
  expect(events.filter((e) => e.event === 'member' && e.data.state === 'succeeded').length).toBe(7)
  const carolJob = await until(
    () => call(one, 'GET', `/api/v1/jobs/${carolRun.body.job_id}`, users.carol!),
    (r) => ['succeeded', 'failed', 'cancelled'].includes(r.body.status),
    "Carol's council",
  )
  expect(carolJob.body.status).toBe('succeeded')

  // The council read the document from S3: its synthesis cites it, verified.
  const results = (await call(two, 'GET', `/api/v1/sessions/${sessionId}/results`, users.alice!)).body
  expect(results.citations.some((c: any) => c.filename === 'minutes.txt' && c.stage === 'synthesis' && c.verified)).toBe(true)

  // Each worker ran one of the two councils (they take one job at a time).
  const ranBy = (jobId: string) => workers.map((worker, i) => (worker.output().includes(jobId) ? i + 1 : 0)).filter(Boolean)
  expect([ranBy(aliceRun.body.job_id), ranBy(carolRun.body.job_id)].flat().sort()).toEqual([1, 2])

  // Objects live in S3 only: no process keeps one in its own DATA_DIR.
  const storage = createObjectStorage(testConfig(s3!.env))
  const keys: string[] = []
  for await (const object of storage.list('documents')) keys.push(object.key)
  // This test's own bucket: the original (documents/<uuid>) and its page text (documents/<uuid>/page-0001).
  expect(keys.map((key) => key.replace(/[0-9a-f-]{36}/, '<uuid>')).sort()).toEqual(['documents/<uuid>', 'documents/<uuid>/page-0001'])
  for (const dir of [...apps.map((app) => app.dataDir), ...workerDirs]) {
    const objects = join(dir, 'objects')
    expect({ dir, files: existsSync(objects) ? readdirSync(objects, { recursive: true }) : [] }).toEqual({ dir, files: [] })
  }
  console.info(`scale-out: upload on 1 → extracted by a worker ${Math.round(extractedMs)} ms; run on 2 → done on 1's stream ${Math.round(doneMs)} ms (3 stages × ${LATENCY_MS} ms offline latency)`)
}, 90_000)

test('a per-user rate limit is shared: requests split over both instances, the next is refused on either', async () => {
  const [one, two] = apps as [RunningServer, RunningServer]
  const statuses: number[] = []
  for (let i = 0; i < RATE_LIMIT; i++)
    statuses.push((await call(i % 2 === 0 ? one : two, 'POST', '/api/v1/sessions', users.erin!, { question: `Question ${i}?` })).status)
  expect(statuses).toEqual(Array(RATE_LIMIT).fill(201))
  for (const app of [one, two]) {
    const refused = await call(app, 'POST', '/api/v1/sessions', users.erin!, { question: 'One more?' })
    expect({ status: refused.status, code: refused.body?.error?.code }).toEqual({ status: 429, code: 'rate_limited' })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  }
}, 20_000)

test('a role binding revoked on instance 1 is refused on instance 2 within IDENTITY_CACHE_MS', async () => {
  const [one, two] = apps as [RunningServer, RunningServer]
  const granted = await call(one, 'POST', '/api/admin/role-bindings', ADMIN, { email: users.bob, role: 'auditor' })
  expect(granted.status).toBe(201)
  // Instance 2 sees the grant (Bob's first request there) and caches his roles.
  expect((await call(two, 'GET', '/api/admin/audit?limit=1', users.bob!)).status).toBe(200)

  expect((await call(one, 'DELETE', `/api/admin/role-bindings/${granted.body.id}`, ADMIN)).status).toBe(204)
  const revokedAt = Date.now()
  await until(() => call(two, 'GET', '/api/admin/audit?limit=1', users.bob!), (res) => res.status === 403, 'refusal on instance 2', IDENTITY_CACHE_MS + 5000)
  const elapsed = Date.now() - revokedAt
  expect(elapsed).toBeLessThanOrEqual(IDENTITY_CACHE_MS + 1000)
  console.info(`scale-out: role binding revoked on 1, refused on 2 after ${elapsed} ms (IDENTITY_CACHE_MS=${IDENTITY_CACHE_MS})`)
  expect((await call(one, 'GET', '/api/admin/audit?limit=1', users.bob!)).status).toBe(403)
  expect((await call(two, 'GET', '/api/admin/audit?limit=1', users.bob!)).status).toBe(403)
}, 20_000)
