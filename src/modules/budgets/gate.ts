/**
 * Reservation: when a run is enqueued its worst case is reserved against the
 * caller's budget for the UTC day, in the transaction that creates the job, by
 * one conditional write of the user's day row; a run that does not fit is
 * refused (429 budget_exceeded) and no job is created.
 */
import type { Actor } from '../../../plugins/auth'
import type { BudgetUsageRow } from '../../../db/schema'
import type { TxStores } from '../../stores'
import { BUDGETS, utcDay, type Amounts } from './amounts'
import type { DayReader } from './day'
import type { Estimate, Estimator } from './estimate'
import { budgetExceeded } from './messages'
import type { ReservationRequest } from './store'

/** What a run will be charged for at most, and against which limits. */
export interface BudgetHold {
  estimate: Estimate
  limits: Amounts
  /** Reserves the estimate inside the transaction that creates the job; throws 429 budget_exceeded if it does not fit. */
  reserve(tx: TxStores, jobId: string): Promise<void>
  /** What reserve() asks the ledger for, for a burst reserved together (BudgetLedger.reserveMany). */
  request(jobId: string): ReservationRequest
  /** The 429 budget_exceeded of a request the ledger refused, from the day's row as it stood. */
  refusal(day: BudgetUsageRow | undefined): Error
}

/** What the jobs service needs: a hold on the caller's budget for the run it is about to create. */
export interface BudgetGate {
  prepareRun(actor: Actor, run: { kind: 'council'; paletteId: string } | { kind: 'agent'; agent: string }): Promise<BudgetHold>
}

export interface GateDeps {
  estimator: Estimator
  readDay: DayReader
  now: () => Date
}

/**
 * @example
 * const gate = createBudgetGate({ estimator, readDay, now })
 * const hold = await gate.prepareRun(actor, { kind: 'agent', agent: 'analyst' })
 * await stores.transaction(async (tx) => { await tx.jobs.insert(job); await hold.reserve(tx, job.id) })
 */
export function createBudgetGate({ estimator, readDay, now }: GateDeps): BudgetGate {
  return {
    async prepareRun(actor, run) {
      const estimate = run.kind === 'council' ? await estimator.council(run.paletteId) : await estimator.agent(run.agent)
      const at = now()
      const day = utcDay(at)
      // Also settles reservations of the user's jobs that ended without running.
      const { limits } = await readDay(actor.userId, day, actor.roles)
      const roles = [...actor.roles]
      const request = (jobId: string): ReservationRequest => ({ jobId, userId: actor.userId, day, kind: run.kind, roles, worstCase: estimate, at, limits })
      const refusal = (row: BudgetUsageRow | undefined) => {
        const committed: Amounts = {
          tokens: (row?.tokensUsed ?? 0) + (row?.tokensHeld ?? 0),
          cost: (row?.costUsedMicroUsd ?? 0) + (row?.costHeldMicroUsd ?? 0),
        }
        const budget = BUDGETS.find((b) => committed[b] + estimate[b] > limits[b]) ?? 'tokens'
        return budgetExceeded({ budget, needed: estimate[budget], remaining: limits[budget] - committed[budget], limit: limits[budget], day, at })
      }
      return {
        estimate,
        limits,
        request,
        refusal,
        async reserve(tx, jobId) {
          const outcome = await tx.budgets.reserve(request(jobId))
          if (!outcome.granted) throw refusal(outcome.day)
        },
      }
    },
  }
}
