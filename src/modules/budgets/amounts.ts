/**
 * The arithmetic of budgets: amounts of both budgets (tokens, and cost in
 * micro-USD), the one reducer that sums them, and the UTC day they are counted in.
 */
import type { BudgetReservationRow } from '../../../db/schema'

export type BudgetName = 'tokens' | 'cost'
export const BUDGETS: readonly BudgetName[] = ['tokens', 'cost']

/** Alerts fire at these percentages of actual use, once each per user per day. */
export const ALERT_THRESHOLDS = [80, 95] as const
export type AlertThreshold = (typeof ALERT_THRESHOLDS)[number]

/** Amounts of both budgets: tokens, and cost in micro-USD. */
export interface Amounts {
  tokens: number
  cost: number
}

export const ZERO: Amounts = { tokens: 0, cost: 0 }

/**
 * Sums the amounts `pick` reads off each item, from `start`.
 * @example
 * sumAmounts(reservations, usedBy, settledUse)
 */
export function sumAmounts<T>(items: readonly T[], pick: (item: T) => Amounts, start: Amounts = ZERO): Amounts {
  return items.reduce<Amounts>((sum, item) => {
    const amount = pick(item)
    return { tokens: sum.tokens + amount.tokens, cost: sum.cost + amount.cost }
  }, start)
}

export const maxAmounts = (a: Amounts, b: Amounts): Amounts => ({ tokens: Math.max(a.tokens, b.tokens), cost: Math.max(a.cost, b.cost) })

type Reservation = Pick<BudgetReservationRow, 'tokensReserved' | 'costReservedMicroUsd' | 'tokensUsed' | 'costUsedMicroUsd'>

/** What a job (or a day's settled jobs) has used so far. */
export const usedBy = (r: Pick<Reservation, 'tokensUsed' | 'costUsedMicroUsd'>): Amounts => ({ tokens: r.tokensUsed, cost: r.costUsedMicroUsd })
/** A job's reserved worst case. */
export const reservedBy = (r: Reservation): Amounts => ({ tokens: r.tokensReserved, cost: r.costReservedMicroUsd })
/** What a job still holds beyond its use so far (never below zero). */
export const heldBeyondUse = (r: Reservation): Amounts => ({
  tokens: Math.max(0, r.tokensReserved - r.tokensUsed),
  cost: Math.max(0, r.costReservedMicroUsd - r.costUsedMicroUsd),
})

/** Percent of a limit, to one decimal; a zero limit is 100 % as soon as anything is used. */
export const percentOf = (used: number, limit: number) => (limit > 0 ? Math.round((used / limit) * 1000) / 10 : used > 0 ? 100 : 0)

export const toUsd = (micro: number) => Math.round(micro) / 1_000_000

/** The UTC day of a moment, as YYYY-MM-DD. */
export const utcDay = (at = new Date()): string => at.toISOString().slice(0, 10)

/** The next UTC midnight after a moment: when today's budgets reset. */
export const nextUtcMidnight = (at = new Date()): Date => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1))

export const secondsUntilReset = (at = new Date()): number => Math.max(1, Math.ceil((nextUtcMidnight(at).getTime() - at.getTime()) / 1000))
