/**
 * Daily token and cost budgets, enforced before money is spent.
 *
 * - Limits: a user override beats a role override, which beats the configured
 *   default (DAILY_TOKEN_BUDGET, DAILY_COST_BUDGET_USD); among several roles with
 *   overrides the most generous applies. Each budget (tokens, cost) resolves on
 *   its own, so an override may set one and inherit the other.
 * - Reservation: when a run is enqueued its worst case (every call using
 *   COUNCIL_MAX_TOKENS in and out, priced from the price table) is reserved
 *   against the caller's budget for the UTC day, in the transaction that creates
 *   the job, by one conditional UPDATE of the user's day row; a run that does not
 *   fit is refused (429 budget_exceeded) and no job is created.
 * - Metering: the council calls beforeCall/afterCall around every LLM call
 *   (ExecutorDeps.meter). A call that would take actual use plus its own worst
 *   case past the limit stops the job (a permanent failure naming the budget).
 * - Settlement: when the job ends, its reservation is replaced by what it used.
 *   Jobs that end without running (cancelled while queued, never dispatched)
 *   are settled the next time the user's budget is read.
 * - Alerts: at 80 % and 95 % of actual use, once per threshold per user per day.
 */
import { createCoalescer } from '../../../db/coalesce'
import { and, asc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm'
import { legacyAuditWithin, type TxStores } from '../../stores'
import { newId, type Database, type Executor } from '../../../db/client'
import type { Actor } from '../../../plugins/auth'
import { PermanentJobError } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'
import type { RequestMeta } from '../../../plugins/rbac'
import type { Config } from '../../config'
import { AppError, conflict, unprocessable } from '../../errors'
import { modelFor } from '../../llm'
import { costMicroUsd } from '../../llm/pricing'
import { toPage, type PageParams } from '../../pagination'
import type { AuditLog } from '../../../plugins/audit'

type JobRow = typeof import('../../../db/schema/sqlite').jobs.$inferSelect
type ReservationRow = typeof import('../../../db/schema/sqlite').budgetReservations.$inferSelect
type UsageRow = typeof import('../../../db/schema/sqlite').budgetUsage.$inferSelect
type LimitRow = typeof import('../../../db/schema/sqlite').limits.$inferSelect

export type BudgetName = 'tokens' | 'cost'
const BUDGETS: BudgetName[] = ['tokens', 'cost']
export const ALERT_THRESHOLDS = [80, 95] as const
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])
/**
 * Within one stage, how long a running job may go on spending from its own
 * reservation before the budget is read again (it is always read at a stage's first call).
 */
const RECHECK_MS = 1000

/** Amounts of both budgets: tokens, and cost in micro-USD. */
export interface Amounts {
  tokens: number
  cost: number
}

const ZERO: Amounts = { tokens: 0, cost: 0 }

/** The bit of budget_usage.alerts_sent that records one alert. */
const alertBit = (budget: BudgetName, threshold: number) => 1 << ((budget === 'tokens' ? 0 : 2) + (threshold === 95 ? 1 : 0))

// ---------------------------------------------------------------------------------------------
// Days, amounts and messages
// ---------------------------------------------------------------------------------------------

/** The UTC day of a moment, as YYYY-MM-DD. */
export const utcDay = (at = new Date()): string => at.toISOString().slice(0, 10)

/** The next UTC midnight after a moment: when today's budgets reset. */
export const nextUtcMidnight = (at = new Date()): Date =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1))

export const secondsUntilReset = (at = new Date()): number => Math.max(1, Math.ceil((nextUtcMidnight(at).getTime() - at.getTime()) / 1000))

const tokensText = (n: number) => `${Math.round(n).toLocaleString('en-US')} tokens`
const usdText = (micro: number) => `$${(micro / 1_000_000).toFixed(micro < 1_000_000 ? 4 : 2)}`
const amountText = (budget: BudgetName, value: number) => (budget === 'tokens' ? tokensText(value) : usdText(value))
/** "96,000 of 100,000 tokens", "$0.5000 of $5.00". */
const ofText = (budget: BudgetName, part: number, whole: number) =>
  budget === 'tokens' ? `${Math.round(part).toLocaleString('en-US')} of ${tokensText(whole)}` : `${usdText(part)} of ${usdText(whole)}`
const budgetLabel = (budget: BudgetName) => (budget === 'tokens' ? 'token' : 'cost')
const toUsd = (micro: number) => Math.round(micro) / 1_000_000

function durationText(seconds: number): string {
  const hours = Math.floor(seconds / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  if (hours > 0) return `${hours} h ${minutes} min`
  if (minutes > 0) return `${minutes} min`
  return `${seconds} s`
}

/** A council or agent call stopped because the next call could take the user past a budget. */
export class BudgetStopped extends PermanentJobError {
  override name = 'BudgetStopped'
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export interface BudgetFigures {
  used: number
  reserved: number
  limit: number
}

export interface BudgetWarning {
  budget: BudgetName
  threshold: number
  percent: number
  message: string
}

export interface UsageView {
  day: string
  resets_at: string
  tokens: BudgetFigures
  cost_usd: BudgetFigures
  warnings: BudgetWarning[]
}

export interface LimitView {
  id: string
  scope: 'user' | 'role'
  /** The user's email, or the role name. */
  subject: string
  user_id: string | null
  daily_tokens: number | null
  daily_cost_usd: number | null
  updated_by: string | null
  updated_at: string
}

export interface UserUsageView {
  user_id: string
  email: string | null
  day: string
  tokens: BudgetFigures
  cost_usd: BudgetFigures
  percent: { tokens: number; cost: number }
}

export interface SetLimitInput {
  scope: 'user' | 'role'
  subject: string
  daily_tokens?: number | null
  daily_cost_usd?: number | null
}

/** What a run will be charged for at most, and against which limits. */
export interface BudgetHold {
  estimate: Amounts & { calls: number }
  limits: Amounts
  /** Reserves the estimate inside the transaction that creates the job; throws 429 budget_exceeded if it does not fit. */
  reserve(tx: TxStores, jobId: string): Promise<void>
}

/** What the jobs service needs: a hold on the caller's budget for the run it is about to create. */
export interface BudgetGate {
  prepareRun(actor: Actor, run: { kind: 'council'; paletteId: string } | { kind: 'agent'; agent: string }): Promise<BudgetHold>
}

const percentOf = (used: number, limit: number) => (limit > 0 ? Math.round((used / limit) * 1000) / 10 : used > 0 ? 100 : 0)

function warningsFor(used: Amounts, limits: Amounts): BudgetWarning[] {
  const warnings: BudgetWarning[] = []
  for (const budget of BUDGETS) {
    const percent = percentOf(used[budget], limits[budget])
    const threshold = [...ALERT_THRESHOLDS].reverse().find((t) => percent >= t)
    if (threshold === undefined) continue
    warnings.push({
      budget,
      threshold,
      percent,
      message: `You have used ${percent}% of today's ${budgetLabel(budget)} budget (${ofText(budget, used[budget], limits[budget])}). It resets at 00:00 UTC.`,
    })
  }
  return warnings
}

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

export interface BudgetDeps {
  db: Database
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
 * const budgets = createBudgetService({ db, config, logger, audit })
 * createJobExecutor({ ..., meter: budgets.meter })
 * createJobsService({ ..., budgets })
 */
export function createBudgetService({ db, config, logger, audit, now = () => new Date(), fetch: send = fetch }: BudgetDeps) {
  const { limits, budgetUsage, budgetReservations, jobs, users, palettes, agents, stageOutputs } = db.t
  const defaults: Amounts = { tokens: config.budgets.dailyTokens, cost: config.budgets.dailyCostMicroUsd }
  const maxTokens = config.council.maxTokens
  const pendingWebhooks = new Set<Promise<void>>()

  /** The worst case of one call: COUNCIL_MAX_TOKENS in and out, at the model's price. */
  const worstCall = (model: string, callMaxTokens = maxTokens): Amounts => ({
    tokens: callMaxTokens * 2,
    cost: costMicroUsd(config.llm.prices, model, callMaxTokens, callMaxTokens),
  })

  // --- limits -------------------------------------------------------------------------------

  const pickLimits = (rows: LimitRow[], userId: string, roles: readonly string[]): Amounts => {
    const userRow = rows.find((row) => row.scope === 'user' && row.subject === userId)
    const roleRows = rows.filter((row) => row.scope === 'role' && roles.includes(row.subject))
    const pick = (field: 'dailyTokens' | 'dailyCostMicroUsd', fallback: number) => {
      const own = userRow?.[field]
      if (own !== null && own !== undefined) return Number(own)
      const byRole = roleRows.map((row) => row[field]).filter((value): value is number => value !== null && value !== undefined)
      return byRole.length > 0 ? Math.max(...byRole.map(Number)) : fallback
    }
    return { tokens: pick('dailyTokens', defaults.tokens), cost: pick('dailyCostMicroUsd', defaults.cost) }
  }

  const limitRowsFor = (exec: Executor, userIds: readonly string[], roles: readonly string[]) => {
    const conditions = [and(eq(limits.scope, 'user'), inArray(limits.subject, [...userIds]))]
    if (roles.length > 0) conditions.push(and(eq(limits.scope, 'role'), inArray(limits.subject, [...roles])))
    return exec.select().from(limits).where(or(...conditions))
  }

  // --- settlement ---------------------------------------------------------------------------

  /** Replaces a finished job's reservation with what it used. Idempotent: only the first call settles. */
  const settleReservation = async (jobId: string, kind: string | null): Promise<ReservationRow | null> => {
    let settled: ReservationRow | null = null
    await db.orm.transaction(async (tx) => {
      const [row] = await tx
        .update(budgetReservations)
        .set({ settledAt: now() })
        .where(and(eq(budgetReservations.jobId, jobId), isNull(budgetReservations.settledAt)))
        .returning()
      if (!row) return
      let used: Amounts = { tokens: Number(row.tokensUsed), cost: Number(row.costUsedMicroUsd) }
      // The executor meters council calls only; a single-agent call is read from its stored output.
      if (kind !== 'council') {
        const outputs = await tx
          .select({ tokensIn: stageOutputs.tokensIn, tokensOut: stageOutputs.tokensOut, cost: stageOutputs.costMicroUsd })
          .from(stageOutputs)
          .where(eq(stageOutputs.jobId, jobId))
        const stored = outputs.reduce(
          (sum, o) => ({ tokens: sum.tokens + Number(o.tokensIn) + Number(o.tokensOut), cost: sum.cost + Number(o.cost) }),
          ZERO,
        )
        if (stored.tokens > used.tokens || stored.cost > used.cost) {
          used = { tokens: Math.max(used.tokens, stored.tokens), cost: Math.max(used.cost, stored.cost) }
          await tx
            .update(budgetReservations)
            .set({ tokensUsed: used.tokens, costUsedMicroUsd: used.cost, calls: Math.max(row.calls, outputs.length) })
            .where(eq(budgetReservations.jobId, jobId))
        }
      }
      await tx
        .update(budgetUsage)
        .set({
          tokensUsed: sql`${budgetUsage.tokensUsed} + ${used.tokens}`,
          tokensHeld: sql`${budgetUsage.tokensHeld} - ${Number(row.tokensReserved)}`,
          costUsedMicroUsd: sql`${budgetUsage.costUsedMicroUsd} + ${used.cost}`,
          costHeldMicroUsd: sql`${budgetUsage.costHeldMicroUsd} - ${Number(row.costReservedMicroUsd)}`,
          updatedAt: now(),
        })
        .where(and(eq(budgetUsage.userId, row.userId), eq(budgetUsage.day, row.day)))
      settled = { ...row, tokensUsed: used.tokens, costUsedMicroUsd: used.cost }
    })
    return settled
  }

  // --- reading a user's day -----------------------------------------------------------------

  interface Snapshot {
    day: string
    row: UsageRow | undefined
    limits: Amounts
    /** Reservations not yet settled (their jobs still queued or running). */
    open: ReservationRow[]
    /** Actual use: settled, plus what open jobs have used so far. */
    used: Amounts
    /** What open jobs hold beyond their use so far. */
    reserved: Amounts
  }

  /**
   * A user's budget for a day. Open reservations whose jobs have ended (a job
   * cancelled before it ran, one that could not be dispatched) are settled on the way.
   */
  const snapshot = async (userId: string, day: string, roles: readonly string[]): Promise<Snapshot> => {
    for (let pass = 0; ; pass++) {
      const [limitRows, rows, open] = await Promise.all([
        limitRowsFor(db.orm, [userId], roles),
        db.orm.select().from(budgetUsage).where(and(eq(budgetUsage.userId, userId), eq(budgetUsage.day, day))).limit(1),
        db.orm
          .select({ reservation: budgetReservations, status: jobs.status, kind: jobs.kind })
          .from(budgetReservations)
          .leftJoin(jobs, eq(jobs.id, budgetReservations.jobId))
          .where(and(eq(budgetReservations.userId, userId), eq(budgetReservations.day, day), isNull(budgetReservations.settledAt))),
      ])
      const ended = open.filter((entry) => entry.status === null || TERMINAL.has(entry.status))
      if (ended.length > 0 && pass === 0) {
        for (const entry of ended) await settleReservation(entry.reservation.jobId, entry.kind ?? entry.reservation.kind)
        continue
      }
      const row = rows[0]
      const reservations = open.map((entry) => entry.reservation)
      const used = reservations.reduce(
        (sum, r) => ({ tokens: sum.tokens + Number(r.tokensUsed), cost: sum.cost + Number(r.costUsedMicroUsd) }),
        { tokens: Number(row?.tokensUsed ?? 0), cost: Number(row?.costUsedMicroUsd ?? 0) },
      )
      const reserved = reservations.reduce(
        (sum, r) => ({
          tokens: sum.tokens + Math.max(0, Number(r.tokensReserved) - Number(r.tokensUsed)),
          cost: sum.cost + Math.max(0, Number(r.costReservedMicroUsd) - Number(r.costUsedMicroUsd)),
        }),
        ZERO,
      )
      return { day, row, limits: pickLimits(limitRows, userId, roles), open: reservations, used, reserved }
    }
  }

  // --- alerts -------------------------------------------------------------------------------

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
      .catch((error: Error) =>
        logger.warn('budget alert webhook failed', { error: error.message, budget: payload.budget, threshold: payload.threshold }),
      )
      .finally(() => pendingWebhooks.delete(delivery))
    pendingWebhooks.add(delivery)
  }

  /** Sends each threshold's alert once per user per day: the bit is claimed by a conditional UPDATE, so only one process sends it. */
  const checkAlerts = async (userId: string, snap: Snapshot): Promise<void> => {
    if (!snap.row) return
    const sent = snap.row.alertsSent
    for (const budget of BUDGETS) {
      const limit = snap.limits[budget]
      if (limit <= 0) continue
      const percent = percentOf(snap.used[budget], limit)
      for (const threshold of ALERT_THRESHOLDS) {
        const bit = alertBit(budget, threshold)
        if (percent < threshold || (sent & bit) !== 0) continue
        const claimed = await db.orm
          .update(budgetUsage)
          .set({ alertsSent: sql`${budgetUsage.alertsSent} | ${bit}` })
          .where(and(eq(budgetUsage.id, snap.row.id), sql`(${budgetUsage.alertsSent} & ${bit}) = 0`))
          .returning({ id: budgetUsage.id })
        if (claimed.length === 0) continue
        const [user] = await db.orm.select({ email: users.email }).from(users).where(eq(users.id, userId)).limit(1)
        const alert = {
          type: 'budget_alert',
          user: user?.email ?? null,
          user_id: userId,
          day: snap.day,
          budget,
          threshold,
          percent,
          used: budget === 'tokens' ? snap.used.tokens : toUsd(snap.used.cost),
          limit: budget === 'tokens' ? limit : toUsd(limit),
          unit: budget === 'tokens' ? 'tokens' : 'usd',
          at: now().toISOString(),
        }
        logger.warn('budget alert', {
          user: alert.user ?? userId,
          user_id: userId,
          budget,
          percent,
          threshold,
          used: alert.used,
          limit: alert.limit,
          day: snap.day,
        })
        deliver(alert)
      }
    }
  }

  /** Alerts must never break the request or the job that triggered them. */
  const alertSafely = (userId: string, snap: Snapshot) =>
    checkAlerts(userId, snap).catch((error: Error) => logger.warn('budget alert check failed', { error: error.message }))

  // --- estimates and reservations -----------------------------------------------------------

  const estimateCouncil = async (paletteId: string) => {
    const [palette] = await db.orm.select().from(palettes).where(eq(palettes.id, paletteId)).limit(1)
    if (!palette) return { ...ZERO, calls: 0 }
    const rows = await db.orm.select({ name: agents.name, model: agents.model }).from(agents).where(inArray(agents.name, [...palette.agentNames, palette.chair]))
    const byName = new Map(rows.map((row) => [row.name, row]))
    const calls: string[] = []
    // Every member drafts and reviews; the chair synthesises.
    for (const name of palette.agentNames) if (byName.has(name)) calls.push(byName.get(name)!.model, byName.get(name)!.model)
    if (byName.has(palette.chair)) calls.push(byName.get(palette.chair)!.model)
    return calls.reduce(
      (sum, model) => {
        const one = worstCall(modelFor(config, model))
        return { tokens: sum.tokens + one.tokens, cost: sum.cost + one.cost, calls: sum.calls + 1 }
      },
      { ...ZERO, calls: 0 },
    )
  }

  const estimateAgent = async (agentName: string) => {
    const [agent] = await db.orm.select({ model: agents.model }).from(agents).where(eq(agents.name, agentName)).limit(1)
    if (!agent) return { ...ZERO, calls: 0 }
    return { ...worstCall(modelFor(config, agent.model)), calls: 1 }
  }

  const budgetExceeded = (budget: BudgetName, needed: number, remaining: number, limit: number, day: string, at: Date) => {
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
        unit: budget === 'tokens' ? 'tokens' : 'usd',
        needed: budget === 'tokens' ? needed : toUsd(needed),
        remaining: budget === 'tokens' ? Math.max(0, remaining) : toUsd(Math.max(0, remaining)),
        limit: budget === 'tokens' ? limit : toUsd(limit),
        day,
        resets_at: nextUtcMidnight(at).toISOString(),
      },
    )
  }

  const gate: BudgetGate = {
    async prepareRun(actor, run) {
      const estimate = run.kind === 'council' ? await estimateCouncil(run.paletteId) : await estimateAgent(run.agent)
      const at = now()
      const day = utcDay(at)
      // Also settles reservations of the user's jobs that ended without running.
      const snap = await snapshot(actor.userId, day, actor.roles)
      const roles = [...actor.roles]
      return {
        estimate,
        limits: snap.limits,
        async reserve(tx, jobId) {
          const outcome = await tx.budgets.reserve({
            jobId,
            userId: actor.userId,
            day,
            kind: run.kind,
            roles,
            tokens: estimate.tokens,
            costMicroUsd: estimate.cost,
            at,
            limits: { tokens: snap.limits.tokens, costMicroUsd: snap.limits.cost },
          })
          if (!outcome.granted) {
            const row = outcome.day
            const committed: Amounts = {
              tokens: Number(row?.tokensUsed ?? 0) + Number(row?.tokensHeld ?? 0),
              cost: Number(row?.costUsedMicroUsd ?? 0) + Number(row?.costHeldMicroUsd ?? 0),
            }
            const budget = BUDGETS.find((b) => committed[b] + estimate[b] > snap.limits[b]) ?? 'tokens'
            throw budgetExceeded(budget, estimate[budget], snap.limits[budget] - committed[budget], snap.limits[budget], day, at)
          }
        },
      }
    },
  }

  // --- the meter (ExecutorDeps.meter) -------------------------------------------------------

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
  }

  /** Per running job in this process: its reservation and use so far (null: the job has no reservation, so it is not metered). */
  const metered = new Map<string, Promise<Metered | null>>()

  // Councils start in bursts; their reservations are read in one query per burst (see db/coalesce.ts).
  const loadReservation = createCoalescer<string, ReservationRow | undefined>(async (jobIds) => {
    const rows = await db.orm.select().from(budgetReservations).where(inArray(budgetReservations.jobId, jobIds))
    const byJob = new Map(rows.map((row) => [row.jobId, row]))
    return jobIds.map((jobId) => byJob.get(jobId))
  })

  const meteredJob = (jobId: string): Promise<Metered | null> => {
    let entry = metered.get(jobId)
    if (!entry) {
      entry = loadReservation
        .add(jobId)
        .then((row) =>
          row
            ? {
                userId: row.userId,
                day: row.day,
                roles: row.roles ?? ['user'],
                reserved: { tokens: Number(row.tokensReserved), cost: Number(row.costReservedMicroUsd) },
                used: { tokens: Number(row.tokensUsed), cost: Number(row.costUsedMicroUsd) },
                calls: row.calls,
                settled: row.settledAt !== null,
                checkedStage: null,
                checkedAt: 0,
                check: Promise.resolve(),
              }
            : null,
        )
      entry.catch(() => metered.delete(jobId))
      metered.set(jobId, entry)
    }
    return entry
  }

  const checkBudget = async (jobId: string, state: Metered, call: { stage: string; agent: string }, worst: Amounts): Promise<void> => {
    const snap = await snapshot(state.userId, state.day, state.roles)
    await alertSafely(state.userId, snap)
    const others = snap.open.filter((r) => r.jobId !== jobId)
    for (const budget of BUDGETS) {
      const heldByOthers = others.reduce(
        (sum, r) =>
          sum +
          (budget === 'tokens'
            ? Math.max(Number(r.tokensReserved), Number(r.tokensUsed))
            : Math.max(Number(r.costReservedMicroUsd), Number(r.costUsedMicroUsd))),
        0,
      )
      const settledUse = budget === 'tokens' ? Number(snap.row?.tokensUsed ?? 0) : Number(snap.row?.costUsedMicroUsd ?? 0)
      const committed = settledUse + heldByOthers + state.used[budget]
      const limit = snap.limits[budget]
      if (committed + worst[budget] > limit)
        throw new BudgetStopped(
          `Stopped: daily ${budgetLabel(budget)} budget reached after ${state.calls} call${state.calls === 1 ? '' : 's'}. ` +
            `${ofText(budget, committed, limit)} are used or reserved today, and the next call (${call.stage} by ${call.agent}) ` +
            `may need up to ${amountText(budget, worst[budget])}. The budget resets at 00:00 UTC.`,
        )
    }
  }

  const meter = {
    /** Stops the job when its use so far plus this call's worst case would pass a budget. */
    async beforeCall(job: JobRow, call: { stage: string; agent: string; model: string; maxTokens: number }): Promise<void> {
      const state = await meteredJob(job.id)
      if (!state || state.settled) return
      const worst = worstCall(call.model, call.maxTokens)
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

    /** Records a call's actual use. Never throws: a failed write is logged, and settlement reads the stored outputs. */
    async afterCall(job: JobRow, call: { stage: string; agent: string; tokensIn: number; tokensOut: number; costMicroUsd: number }): Promise<void> {
      try {
        const state = await meteredJob(job.id)
        if (!state) return
        const tokens = call.tokensIn + call.tokensOut
        state.used = { tokens: state.used.tokens + tokens, cost: state.used.cost + call.costMicroUsd }
        state.calls++
        const [row] = await db.orm
          .update(budgetReservations)
          .set({
            tokensUsed: sql`${budgetReservations.tokensUsed} + ${tokens}`,
            costUsedMicroUsd: sql`${budgetReservations.costUsedMicroUsd} + ${call.costMicroUsd}`,
            calls: sql`${budgetReservations.calls} + 1`,
          })
          .where(eq(budgetReservations.jobId, job.id))
          .returning({ settledAt: budgetReservations.settledAt, userId: budgetReservations.userId, day: budgetReservations.day })
        // A call that finished after its job was settled (a parallel draft still in flight when the job stopped) counts directly.
        if (row?.settledAt) {
          metered.delete(job.id)
          await db.orm
            .update(budgetUsage)
            .set({
              tokensUsed: sql`${budgetUsage.tokensUsed} + ${tokens}`,
              costUsedMicroUsd: sql`${budgetUsage.costUsedMicroUsd} + ${call.costMicroUsd}`,
              updatedAt: now(),
            })
            .where(and(eq(budgetUsage.userId, row.userId), eq(budgetUsage.day, row.day)))
        }
      } catch (error) {
        logger.warn('budget meter could not record a call', { job_id: job.id, error: (error as Error).message })
      }
    },

    /** Called whenever an attempt ends; settles only when the job has finished (a retry keeps its reservation). */
    async settle(job: JobRow): Promise<void> {
      const entry = metered.get(job.id)
      metered.delete(job.id)
      // A council the meter already found without a reservation (created before budgets, or by a tool) has nothing to settle.
      if (entry && (await entry.catch(() => undefined)) === null) return
      try {
        const [current] = await db.orm.select({ status: jobs.status, kind: jobs.kind }).from(jobs).where(eq(jobs.id, job.id)).limit(1)
        if (current && !TERMINAL.has(current.status)) return
        const settled = await settleReservation(job.id, current?.kind ?? job.kind)
        if (settled) await alertSafely(settled.userId, await snapshot(settled.userId, settled.day, settled.roles ?? ['user']))
      } catch (error) {
        logger.warn('budget settlement failed; it is retried when the user next reads or spends their budget', {
          job_id: job.id,
          error: (error as Error).message,
        })
      }
    },
  }

  // --- reading and administering ------------------------------------------------------------

  const usageView = (snap: Snapshot, at: Date): UsageView => ({
    day: snap.day,
    resets_at: nextUtcMidnight(at).toISOString(),
    tokens: { used: snap.used.tokens, reserved: snap.reserved.tokens, limit: snap.limits.tokens },
    cost_usd: { used: toUsd(snap.used.cost), reserved: toUsd(snap.reserved.cost), limit: toUsd(snap.limits.cost) },
    warnings: warningsFor(snap.used, snap.limits),
  })

  const limitView = (row: LimitRow, email: string | null): LimitView => ({
    id: row.id,
    scope: row.scope as 'user' | 'role',
    subject: row.scope === 'user' ? (email ?? row.subject) : row.subject,
    user_id: row.scope === 'user' ? row.subject : null,
    daily_tokens: row.dailyTokens === null ? null : Number(row.dailyTokens),
    daily_cost_usd: row.dailyCostMicroUsd === null ? null : toUsd(Number(row.dailyCostMicroUsd)),
    updated_by: row.updatedBy,
    updated_at: row.updatedAt.toISOString(),
  })

  const ROLE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/

  return {
    ...gate,
    meter,

    /** The caller's budgets today: used, reserved by running jobs, limits, and warnings from 80 %. */
    async usage(actor: Actor): Promise<UsageView> {
      const at = now()
      const snap = await snapshot(actor.userId, utcDay(at), actor.roles)
      await alertSafely(actor.userId, snap)
      return usageView(snap, at)
    },

    /** Admin: the overrides, with the defaults they override. */
    async listLimits(params: PageParams) {
      const rows = await db.orm
        .select({ limit: limits, email: users.email })
        .from(limits)
        .leftJoin(users, and(eq(limits.scope, 'user'), eq(users.id, limits.subject)))
        .where(params.after ? gt(limits.id, params.after) : undefined)
        .orderBy(asc(limits.id))
        .limit(params.limit + 1)
      const page = toPage(
        rows.map((row) => ({ ...row, id: row.limit.id })),
        params,
        (row) => limitView(row.limit, row.email),
      )
      return { ...page, defaults: { daily_tokens: defaults.tokens, daily_cost_usd: toUsd(defaults.cost) } }
    },

    /**
     * Admin: sets (or, with both budgets null, removes) the override of one user (by email)
     * or one role, audited as `limits.set` in the same transaction.
     */
    async setLimit(actor: Actor, input: SetLimitInput, meta: RequestMeta): Promise<LimitView> {
      const tokens = input.daily_tokens ?? null
      const cost = input.daily_cost_usd === null || input.daily_cost_usd === undefined ? null : Math.round(input.daily_cost_usd * 1_000_000)
      let subject: string
      let label: string
      if (input.scope === 'user') {
        const email = input.subject.trim().toLowerCase()
        const found = await db.orm
          .select({ id: users.id, email: users.email })
          .from(users)
          .where(and(sql`lower(${users.email}) = ${email}`, isNull(users.deletedAt)))
          .limit(2)
        if (found.length === 0)
          throw new AppError(404, 'not_found', `No user with the email ${email} has signed in yet; a limit can be set once they have.`)
        if (found.length > 1) throw conflict('ambiguous_user', `More than one user has the email ${email}; set the limit on a role instead.`)
        subject = found[0]!.id
        label = found[0]!.email
      } else {
        if (!ROLE_NAME.test(input.subject))
          throw unprocessable('validation_failed', 'Invalid field "subject": a role name is 1–64 letters, digits, _ . : or -.', [
            { field: 'subject', message: 'must be a role name' },
          ])
        subject = input.subject
        label = input.subject
      }
      const at = now()
      const result: { row?: LimitRow } = {}
      await db.orm.transaction(async (tx) => {
        const [previous] = await tx.select().from(limits).where(and(eq(limits.scope, input.scope), eq(limits.subject, subject))).limit(1)
        if (tokens === null && cost === null) {
          if (previous) await tx.delete(limits).where(eq(limits.id, previous.id))
          result.row = {
            ...(previous ?? { id: newId(), scope: input.scope, subject, createdAt: at }),
            dailyTokens: null,
            dailyCostMicroUsd: null,
            updatedBy: actor.email,
            updatedAt: at,
          }
        } else {
          const [row] = await tx
            .insert(limits)
            .values({ id: previous?.id ?? newId(), scope: input.scope, subject, dailyTokens: tokens, dailyCostMicroUsd: cost, updatedBy: actor.email, createdAt: at, updatedAt: at })
            .onConflictDoUpdate({
              target: [limits.scope, limits.subject],
              set: { dailyTokens: tokens, dailyCostMicroUsd: cost, updatedBy: actor.email, updatedAt: at },
            })
            .returning()
          result.row = row!
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
              daily_cost_usd: cost === null ? null : toUsd(cost),
              removed: tokens === null && cost === null,
              previous: previous
                ? {
                    daily_tokens: previous.dailyTokens === null ? null : Number(previous.dailyTokens),
                    daily_cost_usd: previous.dailyCostMicroUsd === null ? null : toUsd(Number(previous.dailyCostMicroUsd)),
                  }
                : null,
            },
          },
          legacyAuditWithin(db, tx),
        )
      })
      return limitView(result.row!, input.scope === 'user' ? label : null)
    },

    /** Admin: every user's use against their limits on a day (default today), newest first row last. */
    async listUsage(params: PageParams, day = utcDay(now())) {
      const page = async () =>
        db.orm
          .select({ usage: budgetUsage, email: users.email })
          .from(budgetUsage)
          .leftJoin(users, eq(users.id, budgetUsage.userId))
          .where(params.after ? and(eq(budgetUsage.day, day), gt(budgetUsage.id, params.after)) : eq(budgetUsage.day, day))
          .orderBy(asc(budgetUsage.id))
          .limit(params.limit + 1)
      let rows = await page()
      const userIds = rows.map((row) => row.usage.userId)
      const openOf = async () =>
        userIds.length === 0
          ? []
          : db.orm
              .select({ reservation: budgetReservations, status: jobs.status, kind: jobs.kind })
              .from(budgetReservations)
              .leftJoin(jobs, eq(jobs.id, budgetReservations.jobId))
              .where(and(inArray(budgetReservations.userId, userIds), eq(budgetReservations.day, day), isNull(budgetReservations.settledAt)))
      let open = await openOf()
      const ended = open.filter((entry) => entry.status === null || TERMINAL.has(entry.status))
      if (ended.length > 0) {
        for (const entry of ended) await settleReservation(entry.reservation.jobId, entry.kind ?? entry.reservation.kind)
        ;[rows, open] = await Promise.all([page(), openOf()])
      }
      const roles = [...new Set(rows.flatMap((row) => row.usage.roles ?? ['user']))]
      const limitRows = userIds.length === 0 ? [] : await limitRowsFor(db.orm, userIds, roles)
      return toPage(
        rows.map((row) => ({ ...row, id: row.usage.id })),
        params,
        (row): UserUsageView => {
          const mine = open.map((entry) => entry.reservation).filter((r) => r.userId === row.usage.userId)
          const used: Amounts = mine.reduce(
            (sum, r) => ({ tokens: sum.tokens + Number(r.tokensUsed), cost: sum.cost + Number(r.costUsedMicroUsd) }),
            { tokens: Number(row.usage.tokensUsed), cost: Number(row.usage.costUsedMicroUsd) },
          )
          const reserved: Amounts = mine.reduce(
            (sum, r) => ({
              tokens: sum.tokens + Math.max(0, Number(r.tokensReserved) - Number(r.tokensUsed)),
              cost: sum.cost + Math.max(0, Number(r.costReservedMicroUsd) - Number(r.costUsedMicroUsd)),
            }),
            ZERO,
          )
          const userLimits = pickLimits(limitRows, row.usage.userId, row.usage.roles ?? ['user'])
          return {
            user_id: row.usage.userId,
            email: row.email,
            day,
            tokens: { used: used.tokens, reserved: reserved.tokens, limit: userLimits.tokens },
            cost_usd: { used: toUsd(used.cost), reserved: toUsd(reserved.cost), limit: toUsd(userLimits.cost) },
            percent: { tokens: percentOf(used.tokens, userLimits.tokens), cost: percentOf(used.cost, userLimits.cost) },
          }
        },
      )
    },

    /** Waits for alert webhooks in flight (each bounded by ALERT_WEBHOOK_TIMEOUT_MS). */
    async close(): Promise<void> {
      await Promise.allSettled([...pendingWebhooks])
    },
  }
}

export type BudgetService = ReturnType<typeof createBudgetService>
