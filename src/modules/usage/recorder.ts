/**
 * Usage events, as they arrive: every LLM call (tokens, cost, model, stage,
 * duration, ok/error), every job's end and every request's outcome (route
 * template, status class, duration) is merged in memory into the deltas of its
 * day and hour rollup rows (by model, stage, role, endpoint, error) and of its
 * user's day row; the deltas are written every `flushMs` as one batch per table
 * (the job log's pattern: src/modules/jobs/job-log.ts). A council's dozen calls
 * cost a dozen Map updates on the hot path, and a busy second costs two
 * statements, whatever the number of events (docs/PERFORMANCE.md "Admin dashboard").
 */
import type { Logger } from '../../../plugins/logging/logger'
import type { JobObserver } from '../../../plugins/metrics/jobs'
import { bucketOf, HISTOGRAM_BUCKETS } from './histogram'
import { emptyCounters, rollupId, userDayId, type RollupDelta, type UsageDim, type UsageKind, type UsageStore, type UserDayDelta } from './store'

export interface LlmCallEvent {
  userId: string | null
  role: string | null
  model: string
  /** draft, review, synthesis, or agent for a direct agent call. */
  stage: string
  ok: boolean
  tokensIn: number
  tokensOut: number
  costMicroUsd: number
  /** Absent when the call did not report back. */
  durationMs?: number
}

export interface JobEvent {
  userId: string | null
  role: string | null
  /** council, agent, extract */
  kind: string
  outcome: 'succeeded' | 'failed' | 'cancelled'
  durationMs?: number
  /** The failure's message; redacted before it is stored. */
  error?: string
}

export interface RequestEvent {
  method: string
  /** Route template, or undefined when no route matched. */
  route: string | undefined
  status: number
  durationMs: number
  userId?: string
  role?: string
}

/** Routes whose success creates a session (the API and the page form). */
const SESSION_CREATED = new Set(['POST /api/v1/sessions', 'POST /sessions'])
/** Probes and scrapes are not usage: they would drown the endpoints people call. */
const NOT_USAGE = new Set(['/metrics', '/healthz', '/readyz'])

/**
 * A failure message as the dashboard may show it: no emails, URLs, ids or
 * numbers (they name people, sessions and amounts, and split one error into many), at most 120 characters.
 * @example
 * redactError('Provider 429 for job 0193c…: retry in 20 s') // 'Provider <n> for job <id>: retry in <n> s'
 */
export function redactError(message: string): string {
  return message
    .replace(/[^\s@<>"']+@[^\s@<>"']+/g, '<email>')
    .replace(/\bhttps?:\/\/\S+/gi, '<url>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 120)
}

const utcDay = (at: Date) => at.toISOString().slice(0, 10)
const utcHour = (at: Date) => at.toISOString().slice(0, 13)

export interface UsageRecorderOptions {
  store: Pick<UsageStore, 'add' | 'purgeHours'>
  logger: Logger
  flushEveryMs?: number
  now?: () => Date
}

/**
 * @example
 * const usage = createUsageRecorder({ store: stores.usage, logger })
 * usage.request({ method: 'GET', route: '/api/v1/sessions', status: 200, durationMs: 4 })
 * await usage.flush()
 */
export function createUsageRecorder({ store, logger, flushEveryMs = 1000, now = () => new Date() }: UsageRecorderOptions) {
  let rollups = new Map<string, RollupDelta>()
  let users = new Map<string, UserDayDelta>()
  let writing: Promise<void> = Promise.resolve()
  let purgedBefore = ''

  const touch = (at: Date, kind: UsageKind, dims: Array<[UsageDim, string]>, add: (row: RollupDelta) => void) => {
    const day = utcDay(at)
    const hour = utcHour(at)
    for (const [grain, bucket] of [['day', day], ['hour', hour]] as const)
      for (const [dim, key] of dims) {
        const id = rollupId({ grain, bucket, kind, dim, key })
        let row = rollups.get(id)
        if (row === undefined) rollups.set(id, (row = { grain, bucket, kind, dim, key, ...emptyCounters(HISTOGRAM_BUCKETS) }))
        add(row)
      }
  }

  const active = (at: Date, userId: string | null | undefined, tokens: number, costMicroUsd: number) => {
    if (!userId) return
    const day = utcDay(at)
    const id = userDayId(userId, day)
    const row = users.get(id)
    if (row === undefined) users.set(id, { userId, day, events: 1, tokens, costMicroUsd })
    else {
      row.events++
      row.tokens += tokens
      row.costMicroUsd += costMicroUsd
    }
  }

  const timed = (row: RollupDelta, durationMs: number | undefined) => {
    if (durationMs === undefined) return
    row.durationMs += durationMs
    row.hist[bucketOf(durationMs)]!++
  }

  /**
   * Writes are one chain, as the job log's: each flush() writes what is merged
   * when its step runs; a failed write is logged and its deltas dropped (usage
   * figures must never hold up or fail the work they describe).
   */
  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      if (rollups.size === 0 && users.size === 0) return
      const batch = [...rollups.values()]
      const people = [...users.values()]
      rollups = new Map()
      users = new Map()
      await store
        .add(batch, people)
        .catch((error: Error) => logger.error('usage rollup write failed', { error: error.message, rows: batch.length + people.length }))
      // Hour rows serve the current day: once per new day, the older ones go.
      const today = `${utcDay(now())}T00`
      if (today !== purgedBefore) {
        purgedBefore = today
        const yesterday = `${utcDay(new Date(now().getTime() - 86_400_000))}T00`
        await store.purgeHours(yesterday).catch((error: Error) => logger.warn('usage hour purge failed', { error: error.message }))
      }
    })
    return writing
  }
  const timer = setInterval(() => void flush(), flushEveryMs)
  timer.unref()

  return {
    llmCall(call: LlmCallEvent) {
      const at = now()
      const dims: Array<[UsageDim, string]> = [
        ['total', ''],
        ['model', call.model],
        ['stage', call.stage],
      ]
      if (call.role) dims.push(['role', call.role])
      touch(at, 'llm', dims, (row) => {
        row.count++
        if (!call.ok) row.errors++
        row.tokensIn += call.tokensIn
        row.tokensOut += call.tokensOut
        row.costMicroUsd += call.costMicroUsd
        timed(row, call.durationMs)
      })
      active(at, call.userId, call.tokensIn + call.tokensOut, call.costMicroUsd)
    },

    job(job: JobEvent) {
      const at = now()
      const dims: Array<[UsageDim, string]> = [
        ['total', ''],
        ['stage', job.kind],
      ]
      if (job.role) dims.push(['role', job.role])
      if (job.outcome === 'failed') dims.push(['error', redactError(job.error || 'failed without a message')])
      touch(at, 'job', dims, (row) => {
        row.count++
        if (job.outcome === 'failed') row.errors++
        if (job.outcome !== 'cancelled') timed(row, job.durationMs)
      })
      active(at, job.userId, 0, 0)
    },

    request(request: RequestEvent) {
      if (request.route && NOT_USAGE.has(request.route)) return
      const at = now()
      const endpoint = `${request.method} ${request.route || 'unmatched'}`
      touch(
        at,
        'request',
        [
          ['total', ''],
          ['endpoint', endpoint],
        ],
        (row) => {
          row.count++
          if (request.status >= 500) row.errors++
          else if (request.status >= 400) row.clientErrors++
          timed(row, request.durationMs)
        },
      )
      if (request.status < 400 && SESSION_CREATED.has(endpoint)) {
        const dims: Array<[UsageDim, string]> = [['total', '']]
        if (request.role) dims.push(['role', request.role])
        touch(at, 'session', dims, (row) => row.count++)
      }
      active(at, request.userId, 0, 0)
    },

    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>

/**
 * The recorder as a job observer (plugins/metrics/jobs.ts), so the executor
 * reports each LLM call and each job's end once, to Prometheus and here.
 * Retried and interrupted attempts are not outcomes; their calls are still counted.
 */
export function usageJobObserver(usage: Pick<UsageRecorder, 'llmCall' | 'job'>): JobObserver {
  return {
    llmCall(call) {
      if (call.status === 'cancelled') return
      usage.llmCall({
        userId: call.userId ?? null,
        role: call.role ?? null,
        model: call.model,
        stage: call.stage,
        ok: call.status === 'ok',
        tokensIn: call.tokensIn,
        tokensOut: call.tokensOut,
        costMicroUsd: call.costMicroUsd,
        durationMs: call.seconds === undefined ? undefined : call.seconds * 1000,
      })
    },
    jobStarted() {},
    jobFinished(job) {
      if (job.status === 'retrying' || job.status === 'interrupted') return
      usage.job({
        userId: job.userId ?? null,
        role: job.role ?? null,
        kind: job.kind,
        outcome: job.status,
        durationMs: job.seconds === undefined ? undefined : job.seconds * 1000,
        error: job.error,
      })
    },
  }
}
