/**
 * The budget ledger: each user's use and holds per UTC day, the reservations
 * of queued and running jobs, admins' limits, and which alerts were sent. The
 * contract suite is tests/unit/stores/budget-ledger.test.ts.
 */
import type { BudgetReservationRow, BudgetUsageRow, LimitRow } from '../../../db/schema'
import type { AlertThreshold, Amounts, BudgetName } from './amounts'

/** A job's worst case, reserved against a user's day. */
export interface ReservationRequest {
  jobId: string
  userId: string
  day: string
  kind: string
  roles: string[]
  worstCase: Amounts
  at: Date
  /** The limits the reservation must fit under (use + holds + this ≤ limit). */
  limits: Amounts
}

/** Whether a reservation was granted; when not, the day's row as it stands. */
export type ReserveOutcome = { granted: true } | { granted: false; day: BudgetUsageRow | undefined }

/**
 * The rounds in which reserveMany decides `requests`: a user's requests on a
 * day one per round, in the order given, so each round writes a (user, day)
 * row at most once. Indexes into `requests`, each round sorted by user.
 */
export function reservationRounds(requests: readonly ReservationRequest[]): number[][] {
  const rounds: number[][] = []
  const seen = new Map<string, number>()
  requests.forEach((r, i) => {
    const key = `${r.userId}\u0000${r.day}`
    const k = seen.get(key) ?? 0
    seen.set(key, k + 1)
    ;(rounds[k] ??= []).push(i)
  })
  for (const round of rounds) round.sort((a, b) => (requests[a]!.userId < requests[b]!.userId ? -1 : requests[a]!.userId > requests[b]!.userId ? 1 : 0))
  return rounds
}

/** An unsettled reservation and the status of its job (null when the job row is gone). */
export interface OpenReservation {
  reservation: BudgetReservationRow
  jobStatus: string | null
}

/** What a call's use was recorded against. */
interface RecordedCall {
  userId: string
  day: string
  /** The reservation was already settled: the use must go to the day directly. */
  settled: boolean
}

export interface BudgetLedger {
  /**
   * Holds the request against the user's day and records the reservation, if
   * it fits under the limits; one conditional statement decides, so concurrent
   * runs on any instance cannot both take the last of a budget. When it does
   * not fit, nothing is written and the day's row as it stands is returned.
   */
  reserve(request: ReservationRequest): Promise<ReserveOutcome>
  /**
   * reserve() for a burst of runs, in shared statements: each request is
   * decided as reserve() would decide it taken one after another in the
   * order given (a user's second request sees the first one's hold). Run it
   * inside the transaction that creates the jobs, like reserve().
   */
  reserveMany(requests: readonly ReservationRequest[]): Promise<ReserveOutcome[]>

  /** The user's row for a day, if anything was ever reserved that day. */
  usage(userId: string, day: string): Promise<BudgetUsageRow | undefined>
  /** The unsettled reservations of these users on a day. */
  openReservations(userIds: readonly string[], day: string): Promise<OpenReservation[]>
  /** The overrides that may apply: those of these users and those of these roles. */
  limitsFor(userIds: readonly string[], roles: readonly string[]): Promise<LimitRow[]>

  /** A job's reservation (concurrent reads share one statement outside transactions). */
  reservation(jobId: string): Promise<BudgetReservationRow | undefined>
  /** Adds one call's use to a job's reservation; undefined when the job has none. */
  recordCall(jobId: string, use: Amounts): Promise<RecordedCall | undefined>
  /** Adds use straight to a user's day (a call that ended after its job was settled). */
  addUse(userId: string, day: string, use: Amounts, at: Date): Promise<void>
  /** The status of a job, or undefined when there is no such job. */
  jobStatus(jobId: string): Promise<string | undefined>

  /**
   * Marks a job's reservation settled and returns it; only the first caller
   * gets the row (undefined afterwards, or when there is none).
   */
  claimSettlement(jobId: string, at: Date): Promise<BudgetReservationRow | undefined>
  /** claimSettlement() of several jobs in one statement: the rows this call claimed (jobs without one, or settled, are left out). */
  claimSettlements(jobIds: readonly string[], at: Date): Promise<BudgetReservationRow[]>
  /** The use stored with each of a job's stage outputs (single-agent jobs are settled from these). */
  stageOutputUse(jobId: string): Promise<Amounts[]>
  /**
   * Closes a claimed reservation: records its final use on it (when that
   * differs from the row's) and moves it into the user's day, releasing the hold.
   */
  closeReservation(claimed: BudgetReservationRow, final: { used: Amounts; calls: number }, at: Date): Promise<void>
  /** closeReservation() of several claimed reservations (a day's row changed once per user and day). */
  closeReservations(closes: ReadonlyArray<{ claimed: BudgetReservationRow; final: { used: Amounts; calls: number } }>, at: Date): Promise<void>

  /** Records that a day's alert was sent; true only for the one caller that recorded it. */
  claimAlert(usageId: string, budget: BudgetName, threshold: AlertThreshold): Promise<boolean>
  userEmail(userId: string): Promise<string | undefined>

  /** Live users whose email is this one, ignoring case (at most two: enough to tell "ambiguous"). */
  usersByEmail(email: string): Promise<Array<{ id: string; email: string }>>
  findLimit(scope: string, subject: string): Promise<LimitRow | undefined>
  /** Inserts, or updates the budgets of the override with the same scope and subject; returns the stored row. */
  putLimit(row: LimitRow): Promise<LimitRow>
  /** Removes an override; false when it was not there. */
  removeLimit(id: string): Promise<boolean>
  /** Overrides by id: `limit` after `after`, with the email of a user override's user. */
  limitsPage(after: string | null, limit: number): Promise<Array<{ limit: LimitRow; email: string | null }>>
  /** Users' rows of a day by id: `limit` after `after`, with their emails. */
  usagePage(day: string, after: string | null, limit: number): Promise<Array<{ usage: BudgetUsageRow; email: string | null }>>
}

/** The bit of budget_usage.alerts_sent that records one alert. */
export const alertBit = (budget: BudgetName, threshold: AlertThreshold) => 1 << ((budget === 'tokens' ? 0 : 2) + (threshold === 95 ? 1 : 0))

/** Whether a day's row says the alert was sent (a hint; claimAlert decides). */
export const alertSent = (row: BudgetUsageRow, budget: BudgetName, threshold: AlertThreshold) => (row.alertsSent & alertBit(budget, threshold)) !== 0
