/**
 * The quota stores' one contract, run against every backend: memory and Redis
 * (the real one at TEST_REDIS_URL; these tests fail, not skip, when it is down),
 * and RATE_LIMITS parsing. The plugin on a bare Elysia: plugins/quota/index.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { QuotaStore } from '../../plugins/quota'
import { createMemoryQuotaStore } from '../../plugins/quota/memory'
import { createRedisQuotaStore } from '../../plugins/quota/redis'
import { ConfigError, DEFAULT_RATE_LIMITS, loadConfig } from '../../src/config'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const runId = crypto.randomUUID().slice(0, 8)

/** The contract every QuotaStore keeps. `make` builds a store; `peer` (shared backends) another one on the same counters. */
function quotaContract(name: string, make: () => QuotaStore, peer?: () => QuotaStore) {
  describe(`${name} quota store`, () => {
    let store: QuotaStore
    const opened: QuotaStore[] = []
    beforeAll(() => {
      store = make()
      opened.push(store)
    })
    afterAll(async () => {
      for (const s of opened) await s.close()
    })
    const key = () => `contract:${crypto.randomUUID()}`

    test('allows up to the limit, then refuses with a wait > 0', async () => {
      const k = key()
      const rule = { limit: 3, windowMs: 60_000 }
      const decisions = []
      for (let i = 0; i < 4; i++) decisions.push(await store.consume(k, rule))
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false])
      expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0])
      const refused = decisions[3]!
      expect(refused.limit).toBe(3)
      expect(refused.resetMs).toBeGreaterThan(0)
      expect(refused.resetMs).toBeLessThanOrEqual(60_000)
      // The wait names when the first request leaves the window: nearly the whole window here.
      expect(refused.resetMs).toBeGreaterThan(55_000)
    })

    test('the window slides: requests are allowed again once the old ones leave it', async () => {
      const k = key()
      const rule = { limit: 2, windowMs: 300 }
      expect((await store.consume(k, rule)).allowed).toBe(true)
      expect((await store.consume(k, rule)).allowed).toBe(true)
      const refused = await store.consume(k, rule)
      expect(refused.allowed).toBe(false)
      expect(refused.resetMs).toBeLessThanOrEqual(300)
      await Bun.sleep(refused.resetMs + 60)
      expect((await store.consume(k, rule)).allowed).toBe(true)
    })

    test('refused requests are not counted: a client that keeps retrying gets in when the window clears', async () => {
      const k = key()
      const rule = { limit: 1, windowMs: 250 }
      expect((await store.consume(k, rule)).allowed).toBe(true)
      for (let i = 0; i < 5; i++) expect((await store.consume(k, rule)).allowed).toBe(false)
      await Bun.sleep(320)
      expect((await store.consume(k, rule)).allowed).toBe(true)
    })

    test('separate keys (users, limits) are independent', async () => {
      const rule = { limit: 1, windowMs: 60_000 }
      const user = crypto.randomUUID()
      expect((await store.consume(`write:${user}`, rule)).allowed).toBe(true)
      expect((await store.consume(`write:${user}`, rule)).allowed).toBe(false)
      expect((await store.consume(`council-run:${user}`, rule)).allowed).toBe(true)
      expect((await store.consume(`write:${crypto.randomUUID()}`, rule)).allowed).toBe(true)
    })

    test('50 concurrent requests against a limit of 10 let exactly 10 through', async () => {
      const k = key()
      const rule = { limit: 10, windowMs: 60_000 }
      const decisions = await Promise.all(Array.from({ length: 50 }, () => store.consume(k, rule)))
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
      expect(decisions.filter((d) => !d.allowed).every((d) => d.resetMs > 0)).toBe(true)
    })

    test('health names the backend', async () => {
      expect((await store.health()).backend).toBe(name)
    })

    if (peer)
      test('two stores on the same backend share counters atomically (50 concurrent calls across both)', async () => {
        const other = peer()
        opened.push(other)
        const k = key()
        const rule = { limit: 10, windowMs: 60_000 }
        const decisions = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : store).consume(k, rule)))
        expect(decisions.filter((d) => d.allowed)).toHaveLength(10)
      })
  })
}

quotaContract('memory', () => createMemoryQuotaStore())
quotaContract(
  'redis',
  () => createRedisQuotaStore({ url: REDIS, prefix: `test-quota-${runId}` }),
  () => createRedisQuotaStore({ url: REDIS, prefix: `test-quota-${runId}` }),
)

describe('redis quota store', () => {
  test('different prefixes do not share counters', async () => {
    const a = createRedisQuotaStore({ url: REDIS, prefix: `test-quota-a-${runId}` })
    const b = createRedisQuotaStore({ url: REDIS, prefix: `test-quota-b-${runId}` })
    try {
      const rule = { limit: 1, windowMs: 60_000 }
      expect((await a.consume('write:u', rule)).allowed).toBe(true)
      expect((await b.consume('write:u', rule)).allowed).toBe(true)
      expect((await a.consume('write:u', rule)).allowed).toBe(false)
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('an unreachable Redis makes consume and health throw (the plugin then fails open)', async () => {
    const down = createRedisQuotaStore({ url: 'redis://127.0.0.1:1', prefix: 'x', commandTimeoutMs: 300 })
    try {
      await expect(down.consume('k', { limit: 1, windowMs: 1000 })).rejects.toThrow()
      await expect(down.health()).rejects.toThrow()
    } finally {
      await down.close()
    }
  })
})

describe('RATE_LIMITS and budget settings', () => {
  test('defaults: council-run 10/min, agent-call 30/min, upload 30/min, write 120/min', () => {
    const config = loadConfig({})
    expect(config.quota.limits).toEqual(DEFAULT_RATE_LIMITS)
    expect(config.quota.limits['council-run']).toEqual({ limit: 10, windowMs: 60_000 })
    expect(config.quota.prefix).toBe('quota')
    expect(config.budgets).toEqual({ dailyTokens: 200_000, dailyCostMicroUsd: 5_000_000, alertWebhookUrl: null, alertWebhookTimeoutMs: 5000 })
  })

  test('overrides merge over the defaults, in any unit, and may add limits', () => {
    const config = loadConfig({ RATE_LIMITS: 'council-run=3/30s, agent-call=5/2m,export=2/1h,burst=4/500ms', DAILY_COST_BUDGET_USD: '2.5' })
    expect(config.quota.limits['council-run']).toEqual({ limit: 3, windowMs: 30_000 })
    expect(config.quota.limits['agent-call']).toEqual({ limit: 5, windowMs: 120_000 })
    expect(config.quota.limits.export).toEqual({ limit: 2, windowMs: 3_600_000 })
    expect(config.quota.limits.burst).toEqual({ limit: 4, windowMs: 500 })
    expect(config.quota.limits.write).toEqual({ limit: 120, windowMs: 60_000 })
    expect(config.budgets.dailyCostMicroUsd).toBe(2_500_000)
  })

  for (const [variable, env] of [
    ['RATE_LIMITS', { RATE_LIMITS: 'council-run=10' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'council-run=0/60s' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'council-run=10/2d' }],
    ['RATE_LIMITS', { RATE_LIMITS: 'write=10/10ms' }],
    ['QUOTA_PREFIX', { QUOTA_PREFIX: 'has space' }],
    ['DAILY_TOKEN_BUDGET', { DAILY_TOKEN_BUDGET: '-1' }],
    ['DAILY_COST_BUDGET_USD', { DAILY_COST_BUDGET_USD: 'five' }],
    ['ALERT_WEBHOOK_URL', { ALERT_WEBHOOK_URL: 'not a url' }],
    ['ALERT_WEBHOOK_TIMEOUT_MS', { ALERT_WEBHOOK_TIMEOUT_MS: '5' }],
  ] as const)
    test(`a bad ${variable} stops start-up naming it (${Object.values(env)[0]})`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError)
      expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}:`))
    })
})
