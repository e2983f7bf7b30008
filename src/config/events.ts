/**
 * Job event settings (plugins/events), read by the one configuration module
 * (./index.ts) through its `read`, so a bad value stops start-up naming the
 * variable like every other setting.
 */
import { ConfigError, integer, keyPrefix, oneOf } from './parsers'

/**
 * Job events: memory with the in-process runner, redis when BullMQ workers publish; how many and how long they are
 * kept (the streams resume from them); heartbeat of idle streams; how often a running call's text is published.
 */
export interface EventsConfig {
  /** EVENTS_BACKEND (default: redis with JOBS_BACKEND=bullmq, else memory). */
  backend: 'memory' | 'redis'
  /** EVENTS_PREFIX: Redis key prefix; installs (or test runs) sharing one Redis use different prefixes. */
  prefix: string
  /** EVENTS_MAX_PER_JOB */
  maxEvents: number
  /** EVENTS_RETAIN_MS: how long a finished job's events are kept. */
  retainMs: number
  /** EVENTS_IDLE_MS: how long the events of a job that never finishes are kept after its last one. */
  idleMs: number
  /** EVENTS_HEARTBEAT_MS: a comment line on idle streams, so proxies keep them open. */
  heartbeatMs: number
  /** EVENTS_DELTA_MS: a running call's text is gathered and published at most this often. */
  deltaMs: number
}

type Read = <T>(name: string, fallback: T, parse: (raw: string) => T) => T

/**
 * @example
 * events: readEventsConfig((name, fallback, parse) => read(env, name, fallback, parse), jobsBackend)
 */
export function readEventsConfig(read: Read, jobsBackend: 'inline' | 'bullmq'): EventsConfig {
  const backend = read('EVENTS_BACKEND', jobsBackend === 'bullmq' ? ('redis' as const) : ('memory' as const), oneOf('memory', 'redis'))
  if (jobsBackend === 'bullmq' && backend === 'memory')
    throw new ConfigError('EVENTS_BACKEND', 'memory cannot carry events from a BullMQ worker to the server; use redis (the default with bullmq)')
  return {
    backend,
    prefix: read('EVENTS_PREFIX', 'events', keyPrefix),
    maxEvents: read('EVENTS_MAX_PER_JOB', 5000, integer(10, 1_000_000)),
    retainMs: read('EVENTS_RETAIN_MS', 3_600_000, integer(1000, 7 * 86_400_000)),
    idleMs: read('EVENTS_IDLE_MS', 6 * 3_600_000, integer(1000, 7 * 86_400_000)),
    heartbeatMs: read('EVENTS_HEARTBEAT_MS', 15_000, integer(50, 120_000)),
    deltaMs: read('EVENTS_DELTA_MS', 100, integer(0, 10_000)),
  }
}
