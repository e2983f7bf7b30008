/**
 * Redis counters shared by every app instance. One Lua script trims, counts
 * and adds in a single atomic step, so concurrent requests on any number of
 * instances never let more than `limit` through; the clock is Redis's own
 * (TIME), so instances with skewed clocks still agree on the window.
 *
 * A sorted set per key holds the allowed requests' times (score) — at most
 * `limit` members, expiring with the window. (rate-limiter-flexible was
 * considered; its sliding windows need the same script, and one short script
 * is easier to audit than a dependency.)
 */
import IORedis from 'ioredis'
import type { QuotaDecision, QuotaRule, QuotaStore } from './types'

/** KEYS[1]: the key; ARGV: limit, window ms, a unique member suffix. Returns {allowed, remaining, resetMs}. */
const CONSUME = `
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
if reset < 1 then reset = 1 end
local remaining = limit - count
if allowed == 0 then remaining = 0 end
return {allowed, remaining, reset}
`

type Consume = (key: string, limit: number, windowMs: number, member: string) => Promise<[number, number, number]>

export interface RedisQuotaOptions {
  url: string
  /** Prepended to every key: separate installs or test runs sharing one Redis use different prefixes. */
  prefix: string
  /** A command that takes longer fails (the plugin then lets the request through). */
  commandTimeoutMs?: number
}

/**
 * @example
 * const store = createRedisQuotaStore({ url: 'redis://127.0.0.1:6379', prefix: 'quota' })
 * await store.consume('council-run:user-1', { limit: 10, windowMs: 60_000 })
 */
export function createRedisQuotaStore({ url, prefix, commandTimeoutMs = 1000 }: RedisQuotaOptions): QuotaStore {
  // Lazy: a process that never checks a quota (the worker) never connects.
  const client = new IORedis(url, { maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, lazyConnect: true })
  client.on('error', () => undefined) // surfaced by consume() and health(); ioredis reconnects by itself
  client.defineCommand('quotaConsume', { numberOfKeys: 1, lua: CONSUME })
  const consume = (client as unknown as { quotaConsume: Consume }).quotaConsume.bind(client)

  /** While Redis is known to be down, fail at once rather than queueing behind the reconnect. */
  const reachable = () => {
    if (client.status === 'reconnecting' || client.status === 'end' || client.status === 'close')
      throw new Error(`Redis is unreachable (${client.status})`)
  }

  return {
    backend: 'redis',
    async consume(key: string, { limit, windowMs }: QuotaRule): Promise<QuotaDecision> {
      reachable()
      const [allowed, remaining, resetMs] = await consume(`${prefix}:${key}`, limit, windowMs, crypto.randomUUID())
      return { allowed: allowed === 1, limit, remaining: Number(remaining), resetMs: Number(resetMs) }
    },
    async health() {
      reachable()
      await client.ping()
      return { backend: 'redis', prefix }
    },
    async close() {
      client.disconnect()
    },
  }
}
