/**
 * The usage rollups' store (STYLE.md "Stores"): adds batched deltas to the
 * day and hour rows (usage_rollups) and to the per-user day rows
 * (usage_user_days), and reads sums over a window — by dimension value, or per
 * bucket for a time series. No query here reads raw events; there are none.
 */
import type { HistogramColumn } from './histogram'

export type UsageGrain = 'day' | 'hour'
/** What an event was: an LLM call, a job attempt's end, an HTTP request, a session created; `activity` counts people's first event of a day. */
export type UsageKind = 'llm' | 'job' | 'request' | 'session' | 'activity'
/** The dimension a rollup row is keyed by; `total` has the key ''. */
export type UsageDim = 'total' | 'model' | 'stage' | 'role' | 'endpoint' | 'error'

/** The counters every rollup row carries (and every delta adds). */
export interface RollupCounters {
  count: number
  /** Failed calls, failed jobs, 5xx responses. */
  errors: number
  /** 4xx responses. */
  clientErrors: number
  tokensIn: number
  tokensOut: number
  costMicroUsd: number
  /** Sum of durations, ms. */
  durationMs: number
  /** Duration histogram, HISTOGRAM_BUCKETS counts (src/modules/usage/histogram.ts). */
  hist: number[]
}

export interface RollupKey {
  grain: UsageGrain
  /** `2026-12-02` (day) or `2026-12-02T13` (hour), UTC. */
  bucket: string
  kind: UsageKind
  dim: UsageDim
  key: string
}

export type RollupDelta = RollupKey & RollupCounters

export interface UserDayDelta {
  userId: string
  day: string
  events: number
  tokens: number
  costMicroUsd: number
}

/** Summed counters of one kind/dim/key over a window (and, for series, one bucket). */
export interface RollupSum extends RollupCounters {
  kind: UsageKind
  dim: UsageDim
  key: string
}

export interface RollupPoint extends RollupSum {
  bucket: string
}

interface UsageWindow {
  grain: UsageGrain
  /** First and last bucket, inclusive. */
  from: string
  to: string
}

export interface UsageStore {
  /**
   * Adds each delta to its row, creating rows at zero. Every row key appears
   * once per call (the recorder merges before it flushes); concurrent writers
   * (the server and workers) add, never overwrite.
   */
  add(rollups: readonly RollupDelta[], users: readonly UserDayDelta[]): Promise<void>
  /** Sums over the window of every row, by kind, dim and key. */
  totals(window: UsageWindow): Promise<RollupSum[]>
  /** Sums per bucket of one kind and dim (every key), for a time series. */
  series(window: UsageWindow & { kind: UsageKind; dim: UsageDim }): Promise<RollupPoint[]>
  /**
   * Active users per day in [from, to] (days as `YYYY-MM-DD`): read from the
   * `activity` rollup rows, which `add` counts up when a person's first event
   * of a day arrives — 90 rows for 90 days, not 90 × users.
   */
  activeUsers(from: string, to: string): Promise<Array<{ day: string; users: number }>>
  /** Distinct people active on `day` or later (windows end today): one row per person, not per day. */
  activeSince(day: string): Promise<number>
  /** Hour rows older than `before` (an hour bucket) are removed: hours serve the current day only. */
  purgeHours(before: string): Promise<number>
}

/** The row id of a rollup key: also its primary key, so an upsert needs no other unique index. */
export const rollupId = (k: RollupKey) => `${k.grain}|${k.kind}|${k.dim}|${k.bucket}|${k.key}`
export const userDayId = (userId: string, day: string) => `${userId}|${day}`

export const emptyCounters = (buckets: number): RollupCounters => ({
  count: 0,
  errors: 0,
  clientErrors: 0,
  tokensIn: 0,
  tokensOut: 0,
  costMicroUsd: 0,
  durationMs: 0,
  hist: new Array<number>(buckets).fill(0),
})

/** The histogram of a summed row read back from the database, in bucket order. */
export const histOf = (row: Partial<Record<HistogramColumn, number>>, columns: readonly HistogramColumn[]) => columns.map((c) => Number(row[c] ?? 0))
