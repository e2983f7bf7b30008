/**
 * Daily token and cost budgets, enforced before money is spent. The parts,
 * each in its own file:
 *
 * - limits.ts      which limits apply (user > most generous role > default), pure
 * - estimate.ts    a run's worst case
 * - gate.ts        the reservation made with the job (429 budget_exceeded when it does not fit)
 * - meter.ts       the executor's hooks around every LLM call, and settlement when a job ends
 * - settlement.ts  a finished job's reservation replaced by its use
 * - day.ts         a user's day: use, holds, limits
 * - alerts.ts      80 % / 95 %: log, webhook, notice
 * - messages.ts    what people read
 * - admin.ts       usage, limits and everyone's use for the API
 * - store*.ts      the ledger: every read and write
 */
import type { AuditLog } from '../../../plugins/audit'
import type { Logger } from '../../../plugins/logging/logger'
import type { Config } from '../../config'
import type { Stores } from '../../stores'
import type { Amounts } from './amounts'
import { createBudgetAdmin } from './admin'
import { createAlerts } from './alerts'
import { createDayReader } from './day'
import { createEstimator } from './estimate'
import { createBudgetGate } from './gate'
import { createBudgetMeter } from './meter'
import { createSettlement } from './settlement'

export type { BudgetGate } from './gate'
export { secondsUntilReset } from './amounts'

export interface BudgetDeps {
  stores: Stores
  config: Config
  logger: Logger
  audit: AuditLog
  /** For tests: the clock. */
  now?: () => Date
  /** For tests: how webhooks are sent. */
  fetch?: typeof fetch
}

/**
 * @example
 * const budgets = createBudgetService({ stores, config, logger, audit })
 * createJobExecutor({ ..., meter: budgets.meter })
 * createJobsService({ ..., budgets })
 */
export function createBudgetService({ stores, config, logger, audit, now = () => new Date(), fetch: send = fetch }: BudgetDeps) {
  const defaults: Amounts = { tokens: config.budgets.dailyTokens, cost: config.budgets.dailyCostMicroUsd }
  const ledger = stores.budgets
  const estimator = createEstimator({ catalog: stores.catalog, config })
  const settlement = createSettlement({ stores, now })
  const readDay = createDayReader({ ledger, settlement, defaults })
  const alerts = createAlerts({ ledger, config, logger, now, send })
  const gate = createBudgetGate({ estimator, readDay, now })
  const meter = createBudgetMeter({ ledger, readDay, settlement, alerts, estimator, logger, now })
  const admin = createBudgetAdmin({ stores, audit, readDay, settlement, alerts, defaults, now })
  return {
    prepareRun: gate.prepareRun,
    meter,
    ...admin,
    close: alerts.close,
  }
}

export type BudgetService = ReturnType<typeof createBudgetService>
