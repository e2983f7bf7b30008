/** A user's budget day as the gate, the meter, alerts and the usage views see it. */
import type { BudgetReservationRow, BudgetUsageRow } from '../../../db/schema'
import { heldBeyondUse, sumAmounts, usedBy, ZERO, type Amounts } from './amounts'
import { resolveLimits } from './limits'
import type { Settlement } from './settlement'
import type { BudgetLedger } from './store'

/** Actual use and holds of one user's day. */
interface DayFigures {
  /** Use of settled jobs (the day's row). */
  settled: Amounts
  /** Actual use: settled, plus what open jobs have used so far. */
  used: Amounts
  /** What open jobs hold beyond their use so far. */
  reserved: Amounts
}

export interface BudgetDay extends DayFigures {
  day: string
  row: BudgetUsageRow | undefined
  limits: Amounts
  /** Reservations not yet settled (their jobs still queued or running). */
  open: BudgetReservationRow[]
}

/** The figures of a day's row and its open reservations. */
export function dayFigures(row: BudgetUsageRow | undefined, open: readonly BudgetReservationRow[]): DayFigures {
  const settled = row ? usedBy(row) : ZERO
  return { settled, used: sumAmounts(open, usedBy, settled), reserved: sumAmounts(open, heldBeyondUse) }
}

export interface DayReaderDeps {
  ledger: BudgetLedger
  settlement: Settlement
  defaults: Amounts
}

/**
 * @example
 * const readDay = createDayReader({ ledger: stores.budgets, settlement, defaults })
 * const today = await readDay(actor.userId, utcDay(), actor.roles)
 */
export function createDayReader({ ledger, settlement, defaults }: DayReaderDeps) {
  /**
   * A user's budget for a day. Open reservations whose jobs have ended (a job
   * cancelled before it ran, one that could not be dispatched) are settled on the way.
   */
  return async function readDay(userId: string, day: string, roles: readonly string[]): Promise<BudgetDay> {
    for (let pass = 0; ; pass++) {
      const [overrides, row, open] = await Promise.all([ledger.limitsFor([userId], roles), ledger.usage(userId, day), ledger.openReservations([userId], day)])
      if (pass === 0 && (await settlement.settleEnded(open))) continue
      const reservations = open.map((entry) => entry.reservation)
      return { day, row, limits: resolveLimits(overrides, { userId, roles }, defaults), open: reservations, ...dayFigures(row, reservations) }
    }
  }
}

export type DayReader = ReturnType<typeof createDayReader>
