/**
 * Rows and requests for the budget ledger's store tests (tests/unit/stores/budget-ledger.test.ts,
 * tests/unit/stores/budget-burst.test.ts): one day far ahead of the clock, one pair of limits,
 * and rows with every column filled that a test does not care about.
 */
import { newId } from '../../db/client'
import type { JobRow, LimitRow } from '../../db/schema'
import type { Amounts } from '../../src/modules/budgets/amounts'
import type { ReservationRequest } from '../../src/modules/budgets/store'

export const DAY = '2031-01-01'
export const LIMITS: Amounts = { tokens: 1_000, cost: 1_000_000 }

/** A council's reservation of `worstCase` on DAY under LIMITS, for a job of its own. */
export const request = (userId: string, worstCase: Amounts, fields: Partial<ReservationRequest> = {}): ReservationRequest => ({
  jobId: newId(),
  userId,
  day: DAY,
  kind: 'council',
  roles: ['user', 'analyst'],
  worstCase,
  at: new Date(),
  limits: LIMITS,
  ...fields,
})

export const job = (userId: string, status: string): JobRow => ({
  id: newId(),
  kind: 'agent',
  userId,
  sessionId: null,
  status,
  stage: null,
  progress: 0,
  requestId: null,
  role: null,
  idempotencyKey: null,
  input: null,
  output: null,
  error: null,
  attempts: 0,
  cancelRequested: false,
  createdAt: new Date(),
  startedAt: null,
  finishedAt: null,
  heartbeatAt: null,
})

export const limitRow = (scope: string, subject: string, dailyTokens: number | null, dailyCostMicroUsd: number | null = null): LimitRow => {
  const at = new Date()
  return { id: newId(), scope, subject, dailyTokens, dailyCostMicroUsd, updatedBy: 'admin@example.com', createdAt: at, updatedAt: at }
}
