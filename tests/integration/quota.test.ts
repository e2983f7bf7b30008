/**
 * Rate limits through the real app: two app instances sharing one Redis (and
 * one database, as in production) enforce one limit between them; a refusal is
 * 429 rate_limited naming the limit, with Retry-After, and has no effect;
 * every expensive or writing route declares its limit; /readyz reports the
 * Redis counters (degraded, not failed, when Redis is down — requests then go
 * through). Runs on the database of the pass (libsql, then PostgreSQL).
 */
import { afterEach, describe, expect, test } from 'bun:test'
import type { TaggedQuotaHook } from '../../plugins/quota'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const opened: TestApp[] = []

afterEach(async () => {
  // The second instance borrows the first one's database, so it closes first.
  for (const t of opened.splice(0).reverse()) await t.close()
})

async function app(env: Record<string, string> = {}, overrides: Parameters<typeof buildTestApp>[1] = {}) {
  const t = await buildTestApp(env, overrides)
  opened.push(t)
  return t
}

/** Two instances of the app: one Redis prefix, one database (B borrows A's, without closing it). */
async function twoInstances(env: Record<string, string>) {
  const shared = { QUOTA_BACKEND: 'redis', REDIS_URL: REDIS, QUOTA_PREFIX: `test-${crypto.randomUUID().slice(0, 12)}`, ...env }
  const a = await app(shared)
  const b = await app(shared, { db: { ...a.deps.db, close: async () => undefined } })
  return { a, b }
}

const createSession = (t: TestApp, user: string, question = 'Is a shared limit shared?') =>
  t.json('POST', '/api/v1/sessions', { user, body: { question } })

describe('rate limits across instances (Redis)', () => {
  test('limit 5/min: 3 writes on instance A and 3 on B → exactly one 429, in the error shape naming the limit, with Retry-After', async () => {
    const { a, b } = await twoInstances({ RATE_LIMITS: 'write=5/60s' })
    const user = freshUser('shared')
    const results = []
    for (let i = 0; i < 3; i++) {
      results.push(await createSession(a, user, `Question ${i} on A`))
      results.push(await createSession(b, user, `Question ${i} on B`))
    }
    expect(results.map((res) => res.status).sort()).toEqual([201, 201, 201, 201, 201, 429])
    const refused = results.find((res) => res.status === 429)!
    expectErrorShape(expect, refused, 429, 'rate_limited')
    expect(refused.body.error.message).toContain('"write"')
    expect(refused.body.error.message).toContain('5 per 1 minute')
    expect(refused.body.error.details).toMatchObject({ limit: 'write', max: 5, window_seconds: 60 })
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // The refused write did nothing: five sessions exist.
    const list = await a.json('GET', '/api/v1/sessions', { user })
    expect(list.body.items).toHaveLength(5)
    // Another user has a limit of their own.
    expect((await createSession(b, freshUser('other'))).status).toBe(201)
  })

  test('concurrent requests on both instances let exactly the limit through', async () => {
    const { a, b } = await twoInstances({ RATE_LIMITS: 'write=4/60s' })
    const user = freshUser('burst')
    await a.json('GET', '/api/v1/me', { user }) // the user exists before the race
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => createSession(i % 2 ? b : a, user, `Burst ${i}`)))
    expect(results.filter((res) => res.status === 201)).toHaveLength(4)
    expect(results.filter((res) => res.status === 429)).toHaveLength(8)
  })

  test('/readyz reports the quota component when the backend is Redis', async () => {
    const t = await app({ QUOTA_BACKEND: 'redis', REDIS_URL: REDIS, QUOTA_PREFIX: `test-${crypto.randomUUID().slice(0, 12)}` })
    const res = await t.json('GET', '/readyz')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ok')
    expect(res.body.components.quota).toMatchObject({ status: 'ok', backend: 'redis' })
  })

  test('Redis down: /readyz is degraded (quota is not required) and requests are let through', async () => {
    const t = await app({ QUOTA_BACKEND: 'redis', REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMITS: 'write=1/60s' })
    const ready = await t.json('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('degraded')
    expect(ready.body.components.quota.status).toBe('fail')
    expect(ready.body.components.db.status).toBe('ok')
    const user = freshUser('open')
    expect((await createSession(t, user)).status).toBe(201)
    expect((await createSession(t, user)).status).toBe(201)
    expect(t.logs.some((line) => line.msg === 'quota store unavailable; requests are not rate limited')).toBe(true)
  })
})

describe('rate limits on the routes (memory)', () => {
  test('the memory backend adds no /readyz component', async () => {
    const t = await app()
    const res = await t.json('GET', '/readyz')
    expect(res.body.components.quota).toBeUndefined()
  })

  test('every expensive or writing route declares its limit', async () => {
    const t = await app()
    const declared = new Map<string, unknown>()
    for (const route of t.app.routes) {
      const hooks = (route.hooks as { beforeHandle?: Array<{ fn?: Partial<TaggedQuotaHook> } & Partial<TaggedQuotaHook>> }).beforeHandle ?? []
      const spec = hooks.map((hook) => hook.fn?.quota ?? hook.quota).find(Boolean)
      if (spec) declared.set(`${route.method} ${route.path}`, typeof spec === 'function' ? 'by body' : spec)
    }
    expect(Object.fromEntries(declared)).toMatchObject({
      'POST /api/v1/sessions': 'write',
      'POST /api/v1/sessions/:id/run': 'council-run',
      'DELETE /api/v1/sessions/:id': 'write',
      'POST /api/v1/jobs/:id/cancel': 'write',
      'POST /api/v1/agents/:name/run': 'agent-call',
      'POST /sessions': 'by body',
      'POST /sessions/:id/run': 'council-run',
      'POST /jobs/:id/cancel': 'write',
      'PUT /api/admin/limits': 'write',
    })
  })

  test('council-run: the third run in the window is 429 naming the limit, and creates no job', async () => {
    const t = await app({ RATE_LIMITS: 'council-run=2/60s' })
    const user = freshUser('runner')
    const sessions = []
    for (let i = 0; i < 3; i++) sessions.push((await createSession(t, user, `Run me ${i}`)).body.id as string)
    expect((await t.json('POST', `/api/v1/sessions/${sessions[0]}/run`, { user })).status).toBe(202)
    expect((await t.json('POST', `/api/v1/sessions/${sessions[1]}/run`, { user })).status).toBe(202)
    const refused = await t.json('POST', `/api/v1/sessions/${sessions[2]}/run`, { user })
    expectErrorShape(expect, refused, 429, 'rate_limited')
    expect(refused.body.error.message).toContain('"council-run"')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await t.deps.stores.jobs.latestForSession(sessions[2]!)).toBeUndefined()
    // The page's run button spends from the same limit, and answers 429 too.
    const page = await t.call('POST', `/sessions/${sessions[2]}/run`, { user, headers: { 'hx-request': 'true' } })
    expect(page.status).toBe(429)
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await page.text()).toContain('council-run')
  })

  test('agent-call limits the agent proxy', async () => {
    const t = await app({ RATE_LIMITS: 'agent-call=1/60s' })
    const user = freshUser('operator')
    const first = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: 'Hello?' } })
    expect(first.status).toBe(202)
    const second = await t.json('POST', '/api/v1/agents/analyst/run', { user, role: 'ADMIN_AGENT', body: { input: 'Again?' } })
    expectErrorShape(expect, second, 429, 'rate_limited')
    expect(second.body.error.message).toContain('"agent-call"')
  })

  test('write covers delete; a member without the permission gets 403 before any quota is spent', async () => {
    const t = await app({ RATE_LIMITS: 'write=2/60s' })
    const user = freshUser('writer')
    const created = await createSession(t, user)
    expect(created.status).toBe(201)
    expect((await t.call('DELETE', `/api/v1/sessions/${created.body.id}`, { user })).status).toBe(204)
    const refused = await t.json('DELETE', `/api/v1/sessions/${created.body.id}`, { user })
    expectErrorShape(expect, refused, 429, 'rate_limited')
    const other = freshUser('readonly')
    for (let i = 0; i < 3; i++) expect((await t.json('POST', '/api/v1/sessions', { user: other, role: 'readonly', body: { question: 'No?' } })).status).toBe(403)
    expect((await createSession(t, other)).status).toBe(201)
  })

  test('the new-session form spends a council run only when it runs the council', async () => {
    const t = await app({ RATE_LIMITS: 'council-run=1/60s' })
    const user = freshUser('former')
    const form = (run: boolean) => {
      const body = new URLSearchParams({ question: 'From the form?', ...(run ? { run: 'true' } : {}) })
      return t.call('POST', '/sessions', { user, body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' } })
    }
    expect((await form(false)).status).toBe(200)
    expect((await form(false)).status).toBe(200)
    expect((await form(true)).status).toBe(200)
    expect((await form(true)).status).toBe(429)
  })
})
