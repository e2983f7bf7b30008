/**
 * The status page's rows: probe samples (one per component per probe slot),
 * their daily totals, and the incidents and maintenance windows admins post,
 * each with its timestamped updates. The contract suite is
 * tests/unit/stores/status-store.test.ts (libsql and PostgreSQL).
 */
import type { IncidentRow, IncidentUpdateRow, StatusDayRow } from '../../../db/schema'

export interface ProbeSample {
  component: string
  /** The probe slot (the sampler rounds down to its period), so two instances probing one slot write one row. */
  at: Date
  status: 'ok' | 'degraded' | 'fail'
  latencyMs: number
}

/** Per component over a window: samples taken and how many found it up (ok or degraded). */
interface UptimeCount {
  component: string
  samples: number
  up: number
}

/** The latest sample of a component. */
interface LatestSample {
  component: string
  at: Date
  status: string
  latencyMs: number
}

export interface IncidentWithUpdates extends IncidentRow {
  updates: IncidentUpdateRow[]
}

export interface StatusStore {
  /**
   * Writes the samples; those of a slot already written are skipped. Each new
   * one is added to its component's day in status_days. Call inside a
   * transaction so a sample and its day's totals land together. Returns how many were new.
   */
  recordSamples(samples: readonly ProbeSample[]): Promise<number>
  /** Samples since `since`, counted per component. */
  uptimeSince(since: Date): Promise<UptimeCount[]>
  /** Each component's newest sample. */
  latest(): Promise<LatestSample[]>
  /** Daily totals from `fromDay` (`YYYY-MM-DD`, inclusive). */
  days(fromDay: string): Promise<StatusDayRow[]>
  /** Deletes up to `limit` samples older than `before`; returns how many went. */
  pruneSamples(before: Date, limit: number): Promise<number>
  /** Deletes the daily totals of days before `beforeDay`. */
  pruneDays(beforeDay: string): Promise<number>

  insertIncident(row: IncidentRow, update: IncidentUpdateRow): Promise<void>
  /** Changes the incident and appends the update (when given); undefined when there is no such incident. */
  updateIncident(id: string, patch: Partial<Omit<IncidentRow, 'id' | 'createdAt' | 'createdBy'>>, update: IncidentUpdateRow | null): Promise<IncidentRow | undefined>
  incident(id: string): Promise<IncidentWithUpdates | undefined>
  /** Incidents not resolved, or resolved since `resolvedSince`, newest start first, with their updates. */
  current(resolvedSince: Date, limit: number): Promise<IncidentWithUpdates[]>
  /** Every incident and window, newest first: `limit` with ids below `after`, with their updates. */
  list(after: string | null, limit: number): Promise<IncidentWithUpdates[]>
}

/** A sample's row id: one per component and probe slot. */
export const sampleId = (sample: { component: string; at: Date }) => `${sample.component}@${sample.at.getTime()}`

/** The UTC day of a moment, `YYYY-MM-DD`. */
export const utcDay = (at: Date) => at.toISOString().slice(0, 10)

/** New samples summed into their status_days rows. */
export function dayTotals(samples: ReadonlyArray<{ component: string; at: Date; status: string }>) {
  const days = new Map<string, { id: string; component: string; day: string; samples: number; up: number; degraded: number }>()
  for (const sample of samples) {
    const day = utcDay(sample.at)
    const id = `${sample.component}@${day}`
    const total = days.get(id) ?? { id, component: sample.component, day, samples: 0, up: 0, degraded: 0 }
    total.samples++
    if (sample.status !== 'fail') total.up++
    if (sample.status === 'degraded') total.degraded++
    days.set(id, total)
  }
  return [...days.values()]
}
