/**
 * Alerts at 80 % and 95 % of actual use, once per threshold per user per day:
 * a warning in the log, a JSON POST to ALERT_WEBHOOK_URL when set, and the
 * notice the sessions pages show (`warningsFor`).
 */
import type { Logger } from '../../../plugins/logging/logger'
import type { Config } from '../../config'
import { ALERT_THRESHOLDS, BUDGETS, percentOf, type Amounts } from './amounts'
import type { BudgetDay } from './day'
import { reported, unitOf, warningText } from './messages'
import type { BudgetWarning } from './model'
import { alertSent, type BudgetLedger } from './store'

/** The highest threshold each budget has reached, as the notice words it. */
export function warningsFor(used: Amounts, limits: Amounts): BudgetWarning[] {
  const warnings: BudgetWarning[] = []
  for (const budget of BUDGETS) {
    const percent = percentOf(used[budget], limits[budget])
    const threshold = [...ALERT_THRESHOLDS].reverse().find((t) => percent >= t)
    if (threshold === undefined) continue
    warnings.push({ budget, threshold, percent, message: warningText(budget, percent, used[budget], limits[budget]) })
  }
  return warnings
}

export interface AlertDeps {
  ledger: BudgetLedger
  config: Config
  logger: Logger
  now: () => Date
  send: typeof fetch
}

/**
 * @example
 * const alerts = createAlerts({ ledger: stores.budgets, config, logger, now, send: fetch })
 * await alerts.check(userId, today) // never throws
 * await alerts.close() // on shutdown: waits for webhooks in flight
 */
export function createAlerts({ ledger, config, logger, now, send }: AlertDeps) {
  const pendingWebhooks = new Set<Promise<void>>()

  const deliver = (payload: Record<string, unknown>) => {
    const url = config.budgets.alertWebhookUrl
    if (!url) return
    const delivery = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(config.budgets.alertWebhookTimeoutMs),
    })
      .then(async (res) => {
        if (!res.ok) logger.warn('budget alert webhook refused the alert', { status: res.status, budget: payload.budget, threshold: payload.threshold })
        await res.body?.cancel().catch(() => undefined)
      })
      .catch((error: Error) => logger.warn('budget alert webhook failed', { error: error.message, budget: payload.budget, threshold: payload.threshold }))
      .finally(() => pendingWebhooks.delete(delivery))
    pendingWebhooks.add(delivery)
  }

  /** Each threshold's bit is claimed by a conditional write, so only one process sends its alert. */
  const checkAlerts = async (userId: string, today: BudgetDay): Promise<void> => {
    const row = today.row
    if (!row) return
    for (const budget of BUDGETS) {
      const limit = today.limits[budget]
      if (limit <= 0) continue
      const percent = percentOf(today.used[budget], limit)
      for (const threshold of ALERT_THRESHOLDS) {
        if (percent < threshold || alertSent(row, budget, threshold)) continue
        if (!(await ledger.claimAlert(row.id, budget, threshold))) continue
        const email = (await ledger.userEmail(userId)) ?? null
        const alert = {
          type: 'budget_alert',
          user: email,
          user_id: userId,
          day: today.day,
          budget,
          threshold,
          percent,
          used: reported(budget, today.used[budget]),
          limit: reported(budget, limit),
          unit: unitOf(budget),
          at: now().toISOString(),
        }
        logger.warn('budget alert', { user: email ?? userId, user_id: userId, budget, percent, threshold, used: alert.used, limit: alert.limit, day: today.day })
        deliver(alert)
      }
    }
  }

  return {
    /** Alerts must never break the request or the job that triggered them. */
    check: (userId: string, today: BudgetDay): Promise<void> =>
      checkAlerts(userId, today).catch((error: Error) => logger.warn('budget alert check failed', { error: error.message })),

    /** Waits for alert webhooks in flight (each bounded by ALERT_WEBHOOK_TIMEOUT_MS). */
    async close(): Promise<void> {
      await Promise.allSettled([...pendingWebhooks])
    },
  }
}

export type Alerts = ReturnType<typeof createAlerts>
