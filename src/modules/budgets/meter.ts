/**
 * The runtime meter (ExecutorDeps.meter): the council calls beforeCall and
 * afterCall around every LLM call. A call that would take actual use plus its
 * own worst case past the limit stops the job (a permanent failure naming the
 * budget); when the job ends, `settle` replaces its reservation by its use.
 */
import type { JobRow } from '../../../db/schema'
import { PermanentJobError } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'
import { BUDGETS, maxAmounts, reservedBy, sumAmounts, usedBy, type Amounts } from './amounts'
import type { Alerts } from './alerts'
import type { DayReader } from './day'
import type { Estimator } from './estimate'
import { stoppedText } from './messages'
import { jobEnded, type Settlement } from './settlement'
import type { BudgetLedger } from './store'

/**
 * Within one stage, how long a running job may go on spending from its own
 * reservation before the budget is read again (it is always read at a stage's first call).
 */
const RECHECK_MS = 1000

/** A council or agent call stopped because the next call could take the user past a budget. */
class BudgetStopped extends PermanentJobError {
  override name = 'BudgetStopped'
}

/** The hooks the executor calls; their shape is ExecutorDeps.meter's. */
export interface BudgetMeter {
  /** Stops the job when its use so far plus this call's worst case would pass a budget. */
  beforeCall(job: JobRow, call: { stage: string; agent: string; model: string; maxTokens: number }): Promise<void>
  /** Records a call's actual use. Never throws: a failed write is logged, and settlement reads the stored outputs. */
  afterCall(job: JobRow, call: { stage: string; agent: string; tokensIn: number; tokensOut: number; costMicroUsd: number }): Promise<void>
  /** Called whenever an attempt ends; settles only when the job has finished (a retry keeps its reservation). */
  settle(job: JobRow): Promise<void>
}

/** A running job in this process: its reservation and use so far. */
interface Metered {
  userId: string
  day: string
  roles: string[]
  reserved: Amounts
  used: Amounts
  calls: number
  settled: boolean
  /** The last full check: its stage, when it started, and its outcome (calls of the same stage wait for it). */
  checkedStage: string | null
  checkedAt: number
  check: Promise<void>
  /** Calls' use being written (afterCall does not wait for it); settlement waits for all of it first. */
  recording: Set<Promise<void>>
}

export interface MeterDeps {
  ledger: BudgetLedger
  readDay: DayReader
  settlement: Settlement
  alerts: Alerts
  estimator: Estimator
  logger: Logger
  now: () => Date
}

/**
 * @example
 * const meter = createBudgetMeter({ ledger: stores.budgets, readDay, settlement, alerts, estimator, logger, now })
 * createJobExecutor({ ..., meter })
 */
export function createBudgetMeter({ ledger, readDay, settlement, alerts, estimator, logger, now }: MeterDeps): BudgetMeter {
  /** Per running job (null: the job has no reservation, so it is not metered). */
  const metered = new Map<string, Promise<Metered | null>>()

  const meteredJob = (jobId: string): Promise<Metered | null> => {
    let entry = metered.get(jobId)
    if (!entry) {
      entry = ledger.reservation(jobId).then((row) =>
        row
          ? {
              userId: row.userId,
              day: row.day,
              roles: row.roles ?? ['user'],
              reserved: reservedBy(row),
              used: usedBy(row),
              calls: row.calls,
              settled: row.settledAt !== null,
              checkedStage: null,
              checkedAt: 0,
              check: Promise.resolve(),
              recording: new Set(),
            }
          : null,
      )
      entry.catch(() => metered.delete(jobId))
      metered.set(jobId, entry)
    }
    return entry
  }

  const checkBudget = async (jobId: string, state: Metered, call: { stage: string; agent: string }, worst: Amounts): Promise<void> => {
    const today = await readDay(state.userId, state.day, state.roles)
    await alerts.check(state.userId, today)
    // Other open jobs count with the larger of their reservation and their use so far.
    const others = sumAmounts(
      today.open.filter((r) => r.jobId !== jobId),
      (r) => maxAmounts(reservedBy(r), usedBy(r)),
    )
    for (const budget of BUDGETS) {
      const committed = today.settled[budget] + others[budget] + state.used[budget]
      const limit = today.limits[budget]
      if (committed + worst[budget] > limit)
        throw new BudgetStopped(stoppedText({ budget, calls: state.calls, committed, limit, stage: call.stage, agent: call.agent, worst: worst[budget] }))
    }
  }

  return {
    async beforeCall(job, call) {
      const state = await meteredJob(job.id)
      if (!state || state.settled) return
      const worst = estimator.worstCall(call.model, call.maxTokens)
      const withinReservation = BUDGETS.every((b) => state.used[b] + worst[b] <= state.reserved[b])
      const fresh = state.checkedStage === call.stage && Date.now() - state.checkedAt < RECHECK_MS
      // Inside its own reservation a job needs no query, except at each stage's first call and now and then,
      // so that a lowered limit or other jobs' overruns still take effect.
      if (withinReservation && fresh) return state.check
      state.checkedStage = call.stage
      state.checkedAt = Date.now()
      state.check = checkBudget(job.id, state, call, worst)
      return state.check
    },

    async afterCall(job, call) {
      let state: Metered | null
      try {
        state = await meteredJob(job.id)
      } catch (error) {
        logger.warn('budget meter could not record a call', { job_id: job.id, error: (error as Error).message })
        return
      }
      if (!state) return
      const use: Amounts = { tokens: call.tokensIn + call.tokensOut, cost: call.costMicroUsd }
      state.used = { tokens: state.used.tokens + use.tokens, cost: state.used.cost + use.cost }
      state.calls++
      // The council goes on while the use is written (this job's checks count it from memory already);
      // the job's settlement waits for every such write before it reads the reservation.
      const recording = (async () => {
        try {
          const recorded = await ledger.recordCall(job.id, use)
          // A call that finished after its job was settled (a parallel draft still in flight when the job stopped) counts directly.
          if (recorded?.settled) {
            metered.delete(job.id)
            await ledger.addUse(recorded.userId, recorded.day, use, now())
          }
        } catch (error) {
          logger.warn('budget meter could not record a call', { job_id: job.id, error: (error as Error).message })
        }
      })()
      const pending = state.recording
      pending.add(recording)
      void recording.then(() => pending.delete(recording))
    },

    async settle(job) {
      const entry = metered.get(job.id)
      metered.delete(job.id)
      const state = entry ? await entry.catch(() => undefined) : undefined
      // A council the meter already found without a reservation (created before budgets, or by a tool) has nothing to settle.
      if (entry && state === null) return
      // Every call's use is on the reservation before it is settled.
      while (state && state.recording.size > 0) await Promise.all([...state.recording])
      try {
        if (!jobEnded(await ledger.jobStatus(job.id))) return
        const settled = await settlement.settle(job.id)
        if (settled) await alerts.check(settled.userId, await readDay(settled.userId, settled.day, settled.roles ?? ['user']))
      } catch (error) {
        logger.warn('budget settlement failed; it is retried when the user next reads or spends their budget', {
          job_id: job.id,
          error: (error as Error).message,
        })
      }
    },
  }
}
