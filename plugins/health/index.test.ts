/**
 * Liveness and readiness on a bare Elysia app: /healthz answers while the
 * process runs; /readyz runs every component check at once under a time limit
 * and reports each with its latency and details — "ok", "degraded" (200) when
 * an optional one fails, "fail" (503) when a required one does.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import type { Authenticator } from '../../src/identity'
import { rbac } from '../rbac'
import { health, readiness, type ComponentCheck } from '.'

const nobody: Authenticator = { clientIp: () => null, authenticate: async () => null }
const build = (checks: Record<string, ComponentCheck>, timeoutMs = 200) =>
  new Elysia().use(health({ checks, timeoutMs, guard: rbac({ authenticator: nobody }) }))
const get = async (app: ReturnType<typeof build>, path: string) => {
  const res = await app.handle(new Request(`http://localhost${path}`))
  return { status: res.status, body: (await res.json()) as any }
}

const ok = (details?: Record<string, unknown>): ComponentCheck => ({ required: true, check: async () => details })
const down = (required: boolean, message = 'connection refused'): ComponentCheck => ({
  required,
  check: async () => {
    throw new Error(message)
  },
})

describe('health', () => {
  test('/healthz is 200 {status: ok} without identity, whatever the components say', async () => {
    expect(await get(build({ db: down(true) }), '/healthz')).toEqual({ status: 200, body: { status: 'ok' } })
  })

  test('/readyz: every component ok → 200 ok, each with its latency and details', async () => {
    const res = await get(build({ db: ok({ dialect: 'sqlite' }), queue: ok() }), '/readyz')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ok')
    expect(res.body.components.db).toEqual({ status: 'ok', latency_ms: expect.any(Number), dialect: 'sqlite' })
    expect(res.body.components.queue).toEqual({ status: 'ok', latency_ms: expect.any(Number) })
  })

  test('/readyz: an optional component down → 200 degraded, naming the error', async () => {
    const res = await get(build({ db: ok(), worker: down(false, 'no worker has sent a heartbeat') }), '/readyz')
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('degraded')
    expect(res.body.components.worker).toMatchObject({ status: 'fail', error: 'no worker has sent a heartbeat' })
  })

  test('/readyz: a required component down → 503 fail', async () => {
    const res = await get(build({ db: down(true), worker: down(false) }), '/readyz')
    expect(res.status).toBe(503)
    expect(res.body.status).toBe('fail')
    expect(res.body.components.db.status).toBe('fail')
  })

  test('a check that does not answer in time fails with the limit named; checks run at once', async () => {
    const slow: ComponentCheck = { required: false, check: () => Bun.sleep(5_000) }
    const started = performance.now()
    const report = await readiness({ a: slow, b: slow, c: ok() }, 100)
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(report.status).toBe('degraded')
    expect(report.components.a).toMatchObject({ status: 'fail', error: 'no answer within 100 ms' })
    expect(report.components.c!.status).toBe('ok')
  })
})
