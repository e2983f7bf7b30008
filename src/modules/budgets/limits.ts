/**
 * Which daily limits apply to a user: a user override beats a role override,
 * which beats the configured default (DAILY_TOKEN_BUDGET, DAILY_COST_BUDGET_USD);
 * among several roles with overrides the most generous applies. Each budget
 * resolves on its own, so an override may set one and inherit the other.
 * Pure: the overrides are read by the caller (BudgetLedger.limitsFor).
 */
import type { LimitRow } from '../../../db/schema'
import type { Amounts } from './amounts'

export type LimitOverride = Pick<LimitRow, 'scope' | 'subject' | 'dailyTokens' | 'dailyCostMicroUsd'>

/**
 * @example
 * resolveLimits(await ledger.limitsFor([user.id], user.roles), user, { tokens: 200_000, cost: 5_000_000 })
 */
export function resolveLimits(overrides: readonly LimitOverride[], who: { userId: string; roles: readonly string[] }, defaults: Amounts): Amounts {
  const own = overrides.find((row) => row.scope === 'user' && row.subject === who.userId)
  const byRole = overrides.filter((row) => row.scope === 'role' && who.roles.includes(row.subject))
  const pick = (field: 'dailyTokens' | 'dailyCostMicroUsd', fallback: number): number => {
    const mine = own?.[field]
    if (mine !== null && mine !== undefined) return mine
    const set = byRole.map((row) => row[field]).filter((value): value is number => value !== null)
    return set.length > 0 ? Math.max(...set) : fallback
  }
  return { tokens: pick('dailyTokens', defaults.tokens), cost: pick('dailyCostMicroUsd', defaults.cost) }
}
