/**
 * In-process counters: the embedded default. Each key keeps the times of the
 * requests it allowed within the window (at most `limit` of them), so the
 * window slides exactly like the Redis backend's. Limits are per process:
 * several app instances each allow the full limit.
 */
import type { QuotaDecision, QuotaRule, QuotaStore } from './types'

export interface MemoryQuotaOptions {
  /** How often keys whose windows have emptied are dropped. */
  sweepEveryMs?: number
  now?: () => number
}

/**
 * @example
 * const store = createMemoryQuotaStore()
 * await store.consume('write:user-1', { limit: 120, windowMs: 60_000 })
 */
export function createMemoryQuotaStore({ sweepEveryMs = 60_000, now = Date.now }: MemoryQuotaOptions = {}): QuotaStore {
  const hits = new Map<string, { times: number[]; windowMs: number }>()

  const sweep = setInterval(() => {
    const at = now()
    for (const [key, entry] of hits) if ((entry.times.at(-1) ?? 0) <= at - entry.windowMs) hits.delete(key)
  }, sweepEveryMs)
  sweep.unref()

  return {
    backend: 'memory',
    async consume(key: string, { limit, windowMs }: QuotaRule): Promise<QuotaDecision> {
      const at = now()
      const entry = hits.get(key) ?? { times: [], windowMs }
      entry.windowMs = windowMs
      // Times are appended in order, so the expired ones are a prefix.
      let expired = 0
      while (expired < entry.times.length && entry.times[expired]! <= at - windowMs) expired++
      if (expired > 0) entry.times.splice(0, expired)
      if (entry.times.length >= limit) {
        hits.set(key, entry)
        return { allowed: false, limit, remaining: 0, resetMs: Math.max(1, entry.times[0]! + windowMs - at) }
      }
      entry.times.push(at)
      hits.set(key, entry)
      return { allowed: true, limit, remaining: limit - entry.times.length, resetMs: Math.max(1, entry.times[0]! + windowMs - at) }
    },
    async health() {
      return { backend: 'memory', keys: hits.size }
    },
    async close() {
      clearInterval(sweep)
      hits.clear()
    },
  }
}
