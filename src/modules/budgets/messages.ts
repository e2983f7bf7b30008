/**
 * What people read about their budgets: amounts as "96,000 tokens" or "$0.5000",
 * the 429 that refuses a run, the reason a run was stopped, and the warning
 * from 80 %. Wording here is part of the API (tests and clients match on it).
 */
import { AppError } from '../../errors'
import { nextUtcMidnight, secondsUntilReset, toUsd, type BudgetName } from './amounts'

const tokensText = (n: number) => `${Math.round(n).toLocaleString('en-US')} tokens`
/** Sub-dollar amounts keep four decimals, so a single call's price is not shown as $0.00. */
const usdText = (micro: number) => `$${(micro / 1_000_000).toFixed(micro < 1_000_000 ? 4 : 2)}`
const amountText = (budget: BudgetName, value: number) => (budget === 'tokens' ? tokensText(value) : usdText(value))
/** "96,000 of 100,000 tokens", "$0.5000 of $5.00". */
const ofText = (budget: BudgetName, part: number, whole: number) =>
  budget === 'tokens' ? `${Math.round(part).toLocaleString('en-US')} of ${tokensText(whole)}` : `${usdText(part)} of ${usdText(whole)}`
const budgetLabel = (budget: BudgetName) => (budget === 'tokens' ? 'token' : 'cost')

function durationText(seconds: number): string {
  const hours = Math.floor(seconds / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  if (hours > 0) return `${hours} h ${minutes} min`
  if (minutes > 0) return `${minutes} min`
  return `${seconds} s`
}

/** An amount as the API reports it: tokens as they are, cost in USD. */
export const reported = (budget: BudgetName, value: number) => (budget === 'tokens' ? value : toUsd(value))
export const unitOf = (budget: BudgetName) => (budget === 'tokens' ? 'tokens' : 'usd')

/** 429 budget_exceeded: a run's worst case does not fit what is left today; Retry-After is the next UTC midnight. */
export function budgetExceeded(refusal: { budget: BudgetName; needed: number; remaining: number; limit: number; day: string; at: Date }): AppError {
  const { budget, needed, remaining, limit, day, at } = refusal
  const seconds = secondsUntilReset(at)
  const what = budget === 'tokens' ? `may use up to ${tokensText(needed)}` : `may cost up to ${usdText(needed)}`
  const left = remaining <= 0 ? 'nothing is' : `${amountText(budget, remaining)} ${budget === 'tokens' ? 'are' : 'is'}`
  return new AppError(
    429,
    'budget_exceeded',
    `Daily ${budgetLabel(budget)} budget exceeded: this run ${what}, and ${left} left of your ${amountText(budget, limit)} for today. It resets at 00:00 UTC (in ${durationText(seconds)}).`,
    { 'retry-after': String(seconds) },
    {
      budget,
      unit: unitOf(budget),
      needed: reported(budget, needed),
      remaining: reported(budget, Math.max(0, remaining)),
      limit: reported(budget, limit),
      day,
      resets_at: nextUtcMidnight(at).toISOString(),
    },
  )
}

/** Why the meter stopped a running job before its next call. */
export function stoppedText(stop: { budget: BudgetName; calls: number; committed: number; limit: number; stage: string; agent: string; worst: number }): string {
  const { budget, calls, committed, limit, stage, agent, worst } = stop
  return (
    `Stopped: daily ${budgetLabel(budget)} budget reached after ${calls} call${calls === 1 ? '' : 's'}. ` +
    `${ofText(budget, committed, limit)} are used or reserved today, and the next call (${stage} by ${agent}) ` +
    `may need up to ${amountText(budget, worst)}. The budget resets at 00:00 UTC.`
  )
}

/** The notice shown from 80 % of a budget. */
export const warningText = (budget: BudgetName, percent: number, used: number, limit: number) =>
  `You have used ${percent}% of today's ${budgetLabel(budget)} budget (${ofText(budget, used, limit)}). It resets at 00:00 UTC.`
