/**
 * Operations settings (issue 11): /readyz thresholds, the staleness alerts, the
 * status page's probe samples, error tracking. Read by the one configuration
 * module (./index.ts) through its `read`, so a bad value stops start-up naming
 * the variable like every other setting.
 */
import { ConfigError, integer, url } from './parsers'

/** An age (or latency) that turns a component `degraded`, and the larger one that turns it `fail`. */
interface Threshold {
  degradedMs: number
  failMs: number
}

interface ReadyzConfig {
  /** READYZ_TIMEOUT_MS: a check that has not answered by then fails. */
  timeoutMs: number
  /** READYZ_SLOW_MS: db, queue and storage answering slower than this are `degraded`. */
  slowMs: number
  /** READYZ_WORKER_DEGRADED_MS / READYZ_WORKER_FAIL_MS: age of the newest worker heartbeat. */
  worker: Threshold
  /** READYZ_BACKLOG_DEGRADED_MS / READYZ_BACKLOG_FAIL_MS: age of the oldest job waiting for a worker. */
  backlog: Threshold
}

export interface OperationsConfig {
  readyz: ReadyzConfig
  /** WORKER_HEARTBEAT_MS: how often a BullMQ worker writes its heartbeat. */
  heartbeatMs: number
  /** STALENESS_CHECK_MS: how often the staleness alerts look at the worker and the backlog (0: never). */
  stalenessCheckMs: number
  /** STATUS_SAMPLE_MS: how often one instance probes the components for the status page (0: never). */
  statusSampleMs: number
  /** STATUS_SAMPLE_DAYS: raw probe samples kept (the 90-day bars read daily totals, kept 90 days). */
  statusSampleDays: number
  sentry: SentryConfig | null
}

export interface SentryConfig {
  /** SENTRY_DSN: unset, nothing is reported. */
  dsn: string
  /** SENTRY_ENVIRONMENT (default: APP_ENV). */
  environment: string
  /** SENTRY_SAMPLE_RATE: share of errors sent, 0–1. */
  sampleRate: number
}

type Read = <T>(name: string, fallback: T, parse: (raw: string) => T) => T

const ms = integer(1, 86_400_000)
const rate = (raw: string): number => {
  const value = Number(raw)
  if (!/^\d*\.?\d+$/.test(raw.trim()) || value < 0 || value > 1) throw new Error('must be a number from 0 to 1')
  return value
}

function threshold(read: Read, name: string, degradedMs: number, failMs: number): Threshold {
  const degraded = read(`READYZ_${name}_DEGRADED_MS`, degradedMs, ms)
  const fail = read(`READYZ_${name}_FAIL_MS`, failMs, ms)
  if (fail < degraded) throw new ConfigError(`READYZ_${name}_FAIL_MS`, `must be at least READYZ_${name}_DEGRADED_MS (${degraded})`)
  return { degradedMs: degraded, failMs: fail }
}

export function readOperationsConfig(read: Read, appEnv: string): OperationsConfig {
  const heartbeatMs = read('WORKER_HEARTBEAT_MS', 5000, integer(50, 600_000))
  const readyz: ReadyzConfig = {
    timeoutMs: read('READYZ_TIMEOUT_MS', 2000, integer(10, 60_000)),
    slowMs: read('READYZ_SLOW_MS', 1000, ms),
    worker: threshold(read, 'WORKER', 15_000, 60_000),
    backlog: threshold(read, 'BACKLOG', 60_000, 300_000),
  }
  if (readyz.worker.degradedMs <= heartbeatMs)
    throw new ConfigError('READYZ_WORKER_DEGRADED_MS', `must be more than WORKER_HEARTBEAT_MS (${heartbeatMs}), or every live worker looks stale between beats`)
  const dsn = read('SENTRY_DSN', null as string | null, url)
  return {
    readyz,
    heartbeatMs,
    stalenessCheckMs: read('STALENESS_CHECK_MS', 15_000, (raw) => (raw === '0' ? 0 : integer(10, 3_600_000)(raw))),
    statusSampleMs: read('STATUS_SAMPLE_MS', 60_000, (raw) => (raw === '0' ? 0 : integer(10, 3_600_000)(raw))),
    statusSampleDays: read('STATUS_SAMPLE_DAYS', 2, integer(2, 90)),
    sentry: dsn
      ? {
          dsn,
          environment: read('SENTRY_ENVIRONMENT', appEnv, String),
          sampleRate: read('SENTRY_SAMPLE_RATE', 1, rate),
        }
      : null,
  }
}
