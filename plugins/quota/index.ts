/**
 * The quota plugin: per-user rate limits on expensive operations and writes.
 * Routes declare the named limit they spend from, after their permission:
 *
 *   .post('/:id/run', handler, { permission: 'sessions:run', quota: 'council-run' })
 *
 * Limits are named in config (RATE_LIMITS); the counters live in a swappable
 * store chosen by QUOTA_BACKEND — in memory (per process) or in Redis (shared
 * by every instance, atomic). A refusal is 429 `rate_limited` naming the limit
 * and when it frees up, with Retry-After. If the store cannot be reached the
 * request is let through and a warning logged: an outage of the counters must
 * not take the product down (/readyz reports it as degraded).
 */
import { Elysia } from 'elysia'
import type { Config, RateLimit } from '../../src/config'
import { AppError } from '../../src/errors'
import type { ComponentCheck } from '../health'
import type { Logger } from '../logging/logger'
import { createMemoryQuotaStore } from './memory'
import { createRedisQuotaStore } from './redis'
import type { QuotaStore } from './types'

export * from './types'

/** A route's limits: one name, several (each is spent), or a choice made from the request body. */
export type QuotaSpec = string | readonly string[] | ((request: { body: unknown }) => string | readonly string[])

/**
 * @example
 * const store = createQuotaStore(config)
 */
export function createQuotaStore(config: Config): QuotaStore {
  if (config.quota.backend === 'redis') return createRedisQuotaStore({ url: config.jobs.redisUrl, prefix: config.quota.prefix })
  return createMemoryQuotaStore()
}

/** /readyz: the Redis store is a `quota` component that is not required (a failure is "degraded"); memory needs none. */
export function quotaReadiness(store: QuotaStore): Record<string, ComponentCheck> {
  if (store.backend !== 'redis') return {}
  return { quota: { required: false, check: () => store.health() } }
}

/** "60000" → "1 minute", "30000" → "30 seconds". */
export function describeWindow(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  if (ms % 3_600_000 === 0) return unit(ms / 3_600_000, 'hour')
  if (ms % 60_000 === 0) return unit(ms / 60_000, 'minute')
  if (ms % 1000 === 0) return unit(ms / 1000, 'second')
  return `${ms} ms`
}

export interface QuotaOptions {
  store: QuotaStore
  limits: Record<string, RateLimit>
  logger?: Logger
}

export type QuotaPlugin = ReturnType<typeof quota>

/** The macro tags its hook with the declared spec so tests can walk app.routes. */
export type TaggedQuotaHook = ((...args: never[]) => unknown) & { quota: QuotaSpec }

const namesOf = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value)

/**
 * @example
 * new Elysia()
 *   .use(rbac({ authenticator }))
 *   .use(quota({ store: createMemoryQuotaStore(), limits: { write: { limit: 120, windowMs: 60_000 } } }))
 *   .post('/things', handler, { permission: 'things:create', quota: 'write' })
 */
export const quota = ({ store, limits, logger }: QuotaOptions) => {
  for (const [name, rule] of Object.entries(limits))
    if (!Number.isInteger(rule.limit) || rule.limit < 1 || !(rule.windowMs > 0))
      throw new Error(`quota: limit "${name}" needs a whole limit of at least 1 and a positive window`)
  const known = (name: string) => {
    if (!limits[name]) throw new Error(`quota: no limit named "${name}" (known: ${Object.keys(limits).join(', ')}); add it to RATE_LIMITS`)
    return limits[name]!
  }
  let lastWarning = 0

  const spend = async (name: string, subject: string) => {
    const rule = known(name)
    let decision
    try {
      decision = await store.consume(`${name}:${subject}`, rule)
    } catch (error) {
      // Fail open, and say so at most every 10 s rather than on every request.
      if (Date.now() - lastWarning > 10_000) {
        lastWarning = Date.now()
        logger?.warn('quota store unavailable; requests are not rate limited', { backend: store.backend, error: (error as Error).message })
      }
      return
    }
    if (decision.allowed) return
    const seconds = Math.max(1, Math.ceil(decision.resetMs / 1000))
    const resetsAt = new Date(Date.now() + seconds * 1000).toISOString()
    throw new AppError(
      429,
      'rate_limited',
      `Rate limit "${name}" reached: at most ${rule.limit} per ${describeWindow(rule.windowMs)}. Try again in ${seconds} s (at ${resetsAt.slice(11, 19)} UTC).`,
      { 'retry-after': String(seconds) },
      { limit: name, max: rule.limit, window_seconds: rule.windowMs / 1000, retry_after_seconds: seconds, resets_at: resetsAt },
    )
  }

  return new Elysia({ name: 'plugin/quota', seed: { backend: store.backend, limits } })
    /**
     * Spends from a limit inside a handler, for a cost that shows only once the
     * request is read (a multipart create that turns out to carry files spends `upload`).
     */
    .decorate('spendQuota', (name: string, caller: { userId: string }) => spend(name, `u:${caller.userId}`))
    .macro({
    quota: (spec: QuotaSpec) => {
      if (typeof spec !== 'function') namesOf(spec).forEach(known)
      const check = Object.assign(
        async (context: { body: unknown }) => {
          // The permission guard has resolved the caller by now (resolve runs before beforeHandle).
          const { actor, meta } = context as unknown as { actor?: { userId?: string }; meta?: { ip?: string | null } }
          const subject = actor?.userId ? `u:${actor.userId}` : `ip:${meta?.ip ?? 'unknown'}`
          const names = namesOf(typeof spec === 'function' ? spec({ body: context.body }) : spec)
          for (const name of names) await spend(name, subject)
        },
        { quota: spec },
      )
      return { beforeHandle: check }
    },
  })
}
