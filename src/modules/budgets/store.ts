/**
 * The budget ledger: each user's use and holds per UTC day, the reservations
 * of running jobs, and admins' limits. The contract suite is
 * tests/unit/stores/budget-ledger.test.ts.
 */
import type { BudgetReservationRow, BudgetUsageRow } from '../../../db/schema'

/** A job's worst case, reserved against a user's day. */
export interface ReservationRequest {
  jobId: string
  userId: string
  day: string
  kind: string
  roles: string[]
  tokens: number
  costMicroUsd: number
  at: Date
  /** The limits the reservation must fit under (use + holds + this ≤ limit). */
  limits: { tokens: number; costMicroUsd: number }
}

export interface BudgetLedger {
  /**
   * Holds the request against the user's day and records the reservation, if
   * it fits under the limits; one conditional statement decides, so concurrent
   * runs on any instance cannot both take the last of a budget. When it does
   * not fit, nothing is written and the day's row as it stands is returned.
   */
  reserve(request: ReservationRequest): Promise<{ granted: true } | { granted: false; day: BudgetUsageRow | undefined }>
}

export type { BudgetReservationRow, BudgetUsageRow }
