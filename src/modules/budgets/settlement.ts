/**
 * Settlement: when a job ends, its reservation is replaced by what it used.
 * Jobs that end without running (cancelled while queued, never dispatched) are
 * settled the next time their user's budget is read (see day.ts).
 */
import { createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { BudgetReservationRow } from '../../../db/schema'
import type { Stores, TxStores } from '../../stores'
import { maxAmounts, sumAmounts, usedBy, type Amounts } from './amounts'
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
  /** What a claimed reservation finally used: a council's metered calls, or a single-agent call's stored output. */
  const finalUse = async (tx: TxStores, claimed: BudgetReservationRow): Promise<{ used: Amounts; calls: number }> => {
    let used = usedBy(claimed)
    let calls = claimed.calls
    // The executor meters council calls only; a single-agent call is read from its stored output.
    if (claimed.kind !== 'council') {
      const outputs = await tx.budgets.stageOutputUse(claimed.jobId)
      const stored = sumAmounts(outputs, (use) => use)
      if (stored.tokens > used.tokens || stored.cost > used.cost) {
        used = maxAmounts(used, stored)
        calls = Math.max(calls, outputs.length)
      }
    }
    return { used, calls }
  }
  /** Idempotent: only the first call for a job settles it, in one transaction with the others settled beside it. */
  const settleMany = (jobIds: readonly string[]): Promise<Array<BudgetReservationRow | undefined>> =>
    stores.transaction(async (tx) => {
      const at = now()
      const claimed = await tx.budgets.claimSettlements([...new Set(jobIds)], at)
      const closes = []
      for (const row of claimed) closes.push({ claimed: row, final: await finalUse(tx, row) })
      await tx.budgets.closeReservations(closes, at)
      // The same job twice in one batch: the first caller gets the row, as with two calls one after the other.
      const byJob = new Map(claimed.map((row) => [row.jobId, row]))
      return jobIds.map((jobId) => {
        const row = byJob.get(jobId)
        byJob.delete(jobId)
        return row
      })
    })
  // Councils that finish together (a burst at the end of a stage) settle in one transaction; one at a time, so two
  // batches never wait on each other's day rows. If the shared one fails, nothing of it stays and each settles alone.
  const together = createCoalescer<string, BudgetReservationRow | undefined>(
    async (jobIds) => {
      try {
        return await settleMany(jobIds)
      } catch {
        return Promise.all(jobIds.map((jobId) => settleMany([jobId]).then(([row]) => row, (error: unknown) => new ItemFailure(error))))
      }
    },
    { maxInFlight: 1 },
  )
  const settle = (jobId: string): Promise<BudgetReservationRow | undefined> => together.add(jobId)

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
