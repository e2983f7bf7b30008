/**
 * Settlement: when a job ends, its reservation is replaced by what it used.
 * Jobs that end without running (cancelled while queued, never dispatched) are
 * settled the next time their user's budget is read (see day.ts).
 */
import type { BudgetReservationRow } from '../../../db/schema'
import type { Stores } from '../../stores'
import { maxAmounts, sumAmounts, usedBy } from './amounts'
import type { OpenReservation } from './store'

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** Whether a job has ended; a job that no longer exists has too. */
export const jobEnded = (status: string | null | undefined) => status === null || status === undefined || TERMINAL.has(status)

export interface SettlementDeps {
  stores: Stores
  now: () => Date
}

/**
 * @example
 * const settlement = createSettlement({ stores, now: () => new Date() })
 * const settled = await settlement.settle(jobId) // the reservation, or undefined if another caller settled it
 */
export function createSettlement({ stores, now }: SettlementDeps) {
  /** Idempotent: only the first call for a job settles it, in one transaction. */
  const settle = (jobId: string): Promise<BudgetReservationRow | undefined> =>
    stores.transaction(async (tx) => {
      const claimed = await tx.budgets.claimSettlement(jobId, now())
      if (!claimed) return undefined
      let used = usedBy(claimed)
      let calls = claimed.calls
      // The executor meters council calls only; a single-agent call is read from its stored output.
      if (claimed.kind !== 'council') {
        const outputs = await tx.budgets.stageOutputUse(jobId)
        const stored = sumAmounts(outputs, (use) => use)
        if (stored.tokens > used.tokens || stored.cost > used.cost) {
          used = maxAmounts(used, stored)
          calls = Math.max(calls, outputs.length)
        }
      }
      await tx.budgets.closeReservation(claimed, { used, calls }, now())
      return claimed
    })

  return {
    settle,
    /** Settles the reservations whose jobs have ended; true if there were any. */
    async settleEnded(open: readonly OpenReservation[]): Promise<boolean> {
      const ended = open.filter((entry) => jobEnded(entry.jobStatus))
      for (const entry of ended) await settle(entry.reservation.jobId)
      return ended.length > 0
    },
  }
}

export type Settlement = ReturnType<typeof createSettlement>
