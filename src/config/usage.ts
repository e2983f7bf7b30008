/**
 * Usage event settings (src/modules/usage: the rollups behind /admin and
 * /api/admin/metrics), read by the one configuration module (./index.ts).
 */
import { boolean, integer } from './parsers'

export interface UsageConfig {
  /** USAGE_EVENTS (default true): record LLM calls, jobs and requests into the usage rollups. */
  enabled: boolean
  /** USAGE_FLUSH_MS (default 1000): how often the merged deltas are written; at most this much is lost in a crash. */
  flushMs: number
}

type Read = <T>(name: string, fallback: T, parse: (raw: string) => T) => T

/**
 * @example
 * usage: readUsageConfig((name, fallback, parse) => read(env, name, fallback, parse))
 */
export function readUsageConfig(read: Read): UsageConfig {
  return {
    enabled: read('USAGE_EVENTS', true, boolean),
    flushMs: read('USAGE_FLUSH_MS', 1000, integer(10, 60_000)),
  }
}
