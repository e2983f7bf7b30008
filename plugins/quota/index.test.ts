/**
 * The quota plugin on a bare Elysia app: a route spends the named limits it
 * declares (one, several, or chosen by its body) for the caller the permission
 * guard resolved; a refusal is 429 rate_limited in the error shape with
 * Retry-After; bad limits fail at construction, unknown names when a route is
 * declared; a store that is down lets requests through with one warning. The
 * stores' own contract (memory and Redis): tests/unit/quota-contract.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { errors } from '../errors'
import { createLogger } from '../logging/logger'
import { describeWindow, quota, type QuotaStore } from '.'
import { createMemoryQuotaStore } from './memory'

describe('quota plugin on a bare Elysia', () => {
  const logs: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line)) })
  /** Stands in for the rbac guard: resolves `actor` from a header, as the real one does before beforeHandle. */
  const fakeGuard = new Elysia({ name: 'fake-guard' }).macro({
    permission: (_: string) => ({
      resolve: ({ request }: { request: Request }) => ({ actor: { userId: request.headers.get('x-user') ?? '' }, meta: { ip: '10.0.0.1' } }),
    }),
  })
  const build = (store: QuotaStore, limits = { write: { limit: 2, windowMs: 60_000 }, 'council-run': { limit: 1, windowMs: 60_000 } }) =>
    new Elysia()
      .use(errors({ logger }))
      .use(fakeGuard)
      .use(quota({ store, limits, logger }))
      .post('/things', () => 'ok', { permission: 'x', quota: 'write' })
      .post('/both', () => 'ok', { quota: ['write', 'council-run'], permission: 'x' })
      .post('/maybe', () => 'ok', {
        permission: 'x',
        quota: ({ body }: { body: unknown }) => ((body as { run?: boolean }).run ? 'council-run' : 'write'),
      })
  const post = (app: { handle(r: Request): Promise<Response> }, path: string, user: string, body?: unknown) =>
    app.handle(
      new Request(`http://localhost${path}`, {
        method: 'POST',
        headers: { 'x-user': user, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      }),
    )

  test('a refusal is 429 rate_limited in the error shape, naming the limit, with Retry-After', async () => {
    const app = build(createMemoryQuotaStore())
    expect((await post(app, '/things', 'u1')).status).toBe(200)
    expect((await post(app, '/things', 'u1')).status).toBe(200)
    const refused = await post(app, '/things', 'u1')
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    const body = (await refused.json()) as { error: { code: string; message: string; details: Record<string, unknown> } }
    expect(body.error.code).toBe('rate_limited')
    expect(body.error.message).toContain('"write"')
    expect(body.error.message).toContain('2 per 1 minute')
    expect(body.error.message).toMatch(/Try again in \d+ s/)
    expect(body.error.details).toMatchObject({ limit: 'write', max: 2, window_seconds: 60 })
    // Another user is unaffected.
    expect((await post(app, '/things', 'u2')).status).toBe(200)
  })

  test('a route may spend several limits, or choose by its body', async () => {
    const app = build(createMemoryQuotaStore())
    expect((await post(app, '/both', 'u1')).status).toBe(200)
    const second = await post(app, '/both', 'u1')
    expect(second.status).toBe(429)
    expect(((await second.json()) as { error: { message: string } }).error.message).toContain('"council-run"')
    expect((await post(app, '/maybe', 'u3', { run: false })).status).toBe(200)
    expect((await post(app, '/maybe', 'u3', { run: true })).status).toBe(200)
    expect((await post(app, '/maybe', 'u3', { run: true })).status).toBe(429)
  })

  test('an unknown limit name fails when the route is declared, naming it', () => {
    expect(() =>
      new Elysia().use(fakeGuard).use(quota({ store: createMemoryQuotaStore(), limits: {} })).post('/x', () => 'ok', { permission: 'x', quota: 'nope' }),
    ).toThrow(/no limit named "nope"/)
  })

  test('bad limits fail at construction, naming the limit', () => {
    expect(() => quota({ store: createMemoryQuotaStore(), limits: { write: { limit: 0, windowMs: 1000 } } })).toThrow(/"write"/)
  })

  test('when the store is down, requests go through and one warning is logged', async () => {
    const broken: QuotaStore = {
      backend: 'redis',
      consume: () => Promise.reject(new Error('connection refused')),
      health: () => Promise.reject(new Error('connection refused')),
      close: async () => undefined,
    }
    const app = build(broken)
    logs.length = 0
    for (let i = 0; i < 5; i++) expect((await post(app, '/things', 'u1')).status).toBe(200)
    expect(logs.filter((line) => line.msg === 'quota store unavailable; requests are not rate limited')).toHaveLength(1)
  })

  test('describeWindow reads naturally', () => {
    expect(describeWindow(60_000)).toBe('1 minute')
    expect(describeWindow(30_000)).toBe('30 seconds')
    expect(describeWindow(7_200_000)).toBe('2 hours')
    expect(describeWindow(250)).toBe('250 ms')
  })
})
