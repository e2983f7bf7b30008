/**
 * The status page's probes: every STATUS_SAMPLE_MS one instance runs the
 * readiness checks (the same ones /readyz runs, plus the LLM provider's probe)
 * and stores one sample per component, in the slot the period rounds down to.
 * Old raw samples are pruned as it goes (the daily totals stay 90 days).
 */
import { readiness, type ComponentCheck, type ComponentStatus } from '../../../plugins/health'
import type { Stores } from '../../stores'
import type { Component } from './model'
import { utcDay, type ProbeSample } from './store'

const DAY_MS = 86_400_000
const PRUNE_BATCH = 5000

export interface SamplerDeps {
  stores: Stores
  /** The checks of /readyz (db, queue, worker, backlog, storage, …) and `llm`. */
  checks: Record<string, ComponentCheck>
  timeoutMs: number
  slowMs: number
  everyMs: number
  keepDays: number
  now?: () => Date
}

const worse = (a: ComponentStatus | undefined, b: ComponentStatus | undefined): ComponentStatus | undefined => {
  const rank = { ok: 0, degraded: 1, fail: 2 } as const
  if (!a || !b) return a ?? b
  return rank[b.status] > rank[a.status] ? { ...b, latency_ms: Math.max(a.latency_ms, b.latency_ms) } : { ...a, latency_ms: Math.max(a.latency_ms, b.latency_ms) }
}

/**
 * @example
 * const sampler = createStatusSampler({ stores, checks: { ...deps.readiness, llm }, timeoutMs: 2000, slowMs: 1000, everyMs: 60_000, keepDays: 2 })
 * await sampler.sample()
 */
export function createStatusSampler({ stores, checks, timeoutMs, slowMs, everyMs, keepDays, now = () => new Date() }: SamplerDeps) {
  return {
    /** Probes every component once and stores the samples; resolves with how many were new. */
    async sample(): Promise<number> {
      const started = now()
      const at = new Date(Math.floor(started.getTime() / everyMs) * everyMs)
      const report = await readiness(checks, timeoutMs, slowMs)
      const c = report.components
      const found: Record<Component, ComponentStatus | undefined> = {
        // This process answered, so the API is up; its latency is the whole probe's.
        api: { status: 'ok', latency_ms: Math.round(now().getTime() - started.getTime()) },
        database: c.db,
        queue: worse(c.queue, c.backlog),
        worker: c.worker,
        storage: c.storage,
        llm: c.llm,
      }
      const samples: ProbeSample[] = Object.entries(found)
        .filter((entry): entry is [string, ComponentStatus] => entry[1] !== undefined)
        .map(([component, result]) => ({ component, at, status: result.status, latencyMs: result.latency_ms }))
      const written = await stores.transaction((tx) => tx.status.recordSamples(samples))
      await stores.status.pruneSamples(new Date(at.getTime() - keepDays * DAY_MS), PRUNE_BATCH)
      await stores.status.pruneDays(utcDay(new Date(at.getTime() - 91 * DAY_MS)))
      return written
    },
  }
}
