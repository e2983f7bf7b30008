/**
 * Reading and administering budgets: the caller's usage today, and for admins
 * the overrides (listed, set, removed — each audited with its change) and
 * everyone's use on a day.
 */
import { newId } from '../../../db/client'
import type { LimitRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { RequestMeta } from '../../../plugins/rbac'
import { AppError, conflict, unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import { nextUtcMidnight, percentOf, toUsd, utcDay, type Amounts } from './amounts'
import { warningsFor, type Alerts } from './alerts'
import { dayFigures, type DayReader } from './day'
import { resolveLimits } from './limits'
import type { LimitView, SetLimitInput, UsageView, UserUsageView } from './model'
import type { Settlement } from './settlement'

const ROLE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/

const usdOrNull = (micro: number | null) => (micro === null ? null : toUsd(micro))

function limitView(row: LimitRow, email: string | null): LimitView {
  return {
    id: row.id,
    scope: row.scope as 'user' | 'role',
    subject: row.scope === 'user' ? (email ?? row.subject) : row.subject,
    user_id: row.scope === 'user' ? row.subject : null,
    daily_tokens: row.dailyTokens,
    daily_cost_usd: usdOrNull(row.dailyCostMicroUsd),
    updated_by: row.updatedBy,
    updated_at: row.updatedAt.toISOString(),
  }
}

export interface BudgetAdminDeps {
  stores: Stores
  audit: AuditLog
  readDay: DayReader
  settlement: Settlement
  alerts: Alerts
  defaults: Amounts
  now: () => Date
}

/**
 * @example
 * const admin = createBudgetAdmin({ stores, audit, readDay, settlement, alerts, defaults, now })
 * await admin.setLimit(actor, { scope: 'role', subject: 'analyst', daily_tokens: 500_000 }, meta)
 */
export function createBudgetAdmin({ stores, audit, readDay, settlement, alerts, defaults, now }: BudgetAdminDeps) {
  const ledger = stores.budgets

  /** A user override's subject is the user's id, found by email; a role's is its name. */
  const subjectOf = async (input: SetLimitInput): Promise<{ subject: string; label: string }> => {
    if (input.scope === 'role') {
      if (!ROLE_NAME.test(input.subject))
        throw unprocessable('validation_failed', 'Invalid field "subject": a role name is 1–64 letters, digits, _ . : or -.', [
          { field: 'subject', message: 'must be a role name' },
        ])
      return { subject: input.subject, label: input.subject }
    }
    const email = input.subject.trim().toLowerCase()
    const found = await ledger.usersByEmail(email)
    if (found.length === 0) throw new AppError(404, 'not_found', `No user with the email ${email} has signed in yet; a limit can be set once they have.`)
    if (found.length > 1) throw conflict('ambiguous_user', `More than one user has the email ${email}; set the limit on a role instead.`)
    return { subject: found[0]!.id, label: found[0]!.email }
  }

  return {
    /** The caller's budgets today: used, reserved by running jobs, limits, and warnings from 80 %. */
    async usage(actor: Actor): Promise<UsageView> {
      const at = now()
      const today = await readDay(actor.userId, utcDay(at), actor.roles)
      await alerts.check(actor.userId, today)
      return {
        day: today.day,
        resets_at: nextUtcMidnight(at).toISOString(),
        tokens: { used: today.used.tokens, reserved: today.reserved.tokens, limit: today.limits.tokens },
        cost_usd: { used: toUsd(today.used.cost), reserved: toUsd(today.reserved.cost), limit: toUsd(today.limits.cost) },
        warnings: warningsFor(today.used, today.limits),
      }
    },

    /** The overrides, with the defaults they override. */
    async listLimits(params: PageParams) {
      const rows = await ledger.limitsPage(params.after, params.limit + 1)
      const page = toPage(
        rows.map((row) => ({ ...row, id: row.limit.id })),
        params,
        (row) => limitView(row.limit, row.email),
      )
      return { ...page, defaults: { daily_tokens: defaults.tokens, daily_cost_usd: toUsd(defaults.cost) } }
    },

    /**
     * Sets (or, with both budgets null, removes) the override of one user (by email)
     * or one role, audited as `limits.set` in the same transaction.
     */
    async setLimit(actor: Actor, input: SetLimitInput, meta: RequestMeta): Promise<LimitView> {
      const tokens = input.daily_tokens ?? null
      const cost = input.daily_cost_usd === null || input.daily_cost_usd === undefined ? null : Math.round(input.daily_cost_usd * 1_000_000)
      const removed = tokens === null && cost === null
      const { subject, label } = await subjectOf(input)
      const at = now()
      const stored = await stores.transaction(async (tx) => {
        const previous = await tx.budgets.findLimit(input.scope, subject)
        let row: LimitRow
        if (removed) {
          if (previous) await tx.budgets.removeLimit(previous.id)
          // What the override was, with its budgets cleared: the answer says what now applies.
          row = { ...(previous ?? { id: newId(), scope: input.scope, subject, createdAt: at }), dailyTokens: null, dailyCostMicroUsd: null, updatedBy: actor.email, updatedAt: at }
        } else {
          const { id = newId(), createdAt = at } = previous ?? {}
          row = await tx.budgets.putLimit({ id, scope: input.scope, subject, dailyTokens: tokens, dailyCostMicroUsd: cost, updatedBy: actor.email, createdAt, updatedAt: at })
        }
        await audit.record(
          {
            ...meta.audit,
            action: 'limits.set',
            target: `limits:${input.scope}:${label}`,
            metadata: {
              scope: input.scope,
              subject: label,
              daily_tokens: tokens,
              daily_cost_usd: usdOrNull(cost),
              removed,
              previous: previous ? { daily_tokens: previous.dailyTokens, daily_cost_usd: usdOrNull(previous.dailyCostMicroUsd) } : null,
            },
          },
          tx,
        )
        return row
      })
      return limitView(stored, input.scope === 'user' ? label : null)
    },

    /** Every user's use against their limits on a day (default today), by user row. */
    async listUsage(params: PageParams, day = utcDay(now())): Promise<Page<UserUsageView>> {
      const page = () => ledger.usagePage(day, params.after, params.limit + 1)
      let rows = await page()
      const userIds = rows.map((row) => row.usage.userId)
      let open = await ledger.openReservations(userIds, day)
      // Reservations of jobs that ended without running are settled first, so the figures are final.
      if (await settlement.settleEnded(open)) [rows, open] = await Promise.all([page(), ledger.openReservations(userIds, day)])
      const roles = [...new Set(rows.flatMap((row) => row.usage.roles ?? ['user']))]
      const overrides = userIds.length === 0 ? [] : await ledger.limitsFor(userIds, roles)
      return toPage(
        rows.map((row) => ({ ...row, id: row.usage.id })),
        params,
        ({ usage, email }): UserUsageView => {
          const mine = open.map((entry) => entry.reservation).filter((r) => r.userId === usage.userId)
          const { used, reserved } = dayFigures(usage, mine)
          const limits = resolveLimits(overrides, { userId: usage.userId, roles: usage.roles ?? ['user'] }, defaults)
          return {
            user_id: usage.userId,
            email,
            day,
            tokens: { used: used.tokens, reserved: reserved.tokens, limit: limits.tokens },
            cost_usd: { used: toUsd(used.cost), reserved: toUsd(reserved.cost), limit: toUsd(limits.cost) },
            percent: { tokens: percentOf(used.tokens, limits.tokens), cost: percentOf(used.cost, limits.cost) },
          }
        },
      )
    },
  }
}
