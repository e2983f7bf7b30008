/**
 * Runs one job by id — the same code under the in-process runner and in the
 * BullMQ worker process. It mirrors status, stage and progress into the job
 * row and its session, stops cleanly when the job is cancelled (the cancel
 * flag is polled from the database, so it works across processes), and
 * decides between retry and final failure.
 */
import type { JobRow } from '../../../db/schema'
import type { JobEventSink } from '../../../plugins/events'
import { JobCancelled, PermanentJobError, type ProcessContext } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'
import { trackJob, type JobObserver, type JobTracker } from '../../../plugins/metrics/jobs'
import { CouncilError, PermanentCouncilError, type Council, type CouncilOutcome, type Stage } from '../../council/engine'
import type { SessionStore, SessionTotals } from '../sessions/store'
import type { JobLog, JobLogWriter } from './job-log'
import type { JobStore } from './store'

export interface ExecutorDeps {
  stores: { jobs: JobStore; sessions: SessionStore }
  council: Council
  logger: Logger
  jobLogs: JobLogWriter
  /** How often a running job checks its cancel flag. */
  cancelPollMs?: number
  /** Hooks the budget plugin uses to meter council calls (issue: governance). */
  meter?: {
    beforeCall?: (job: JobRow, call: { stage: Stage; agent: string; model: string; maxTokens: number }) => Promise<void>
    afterCall?: (job: JobRow, call: { stage: Stage; agent: string; tokensIn: number; tokensOut: number; costMicroUsd: number }) => Promise<void>
    settle?: (job: JobRow) => Promise<void>
  }
  /** Hooks the metrics plugin uses to count LLM calls and job outcomes; separate from the meter, and never throws. */
  observe?: JobObserver
  /** Reports an unexpected failure (not a CouncilError) to the error tracker (SENTRY_DSN); never throws. */
  report?: (error: unknown, context: { job_id: string; request_id?: string; route: string; user?: string }) => void
  /** Where the job's events go (plugins/events): stages, members' calls, progress, text as it is written, the end. */
  events?: JobEventSink
  /** Runs an `extract` job (one uploaded document; src/modules/documents/extraction.ts) and returns the job's output. */
  extract?: (
    job: JobRow,
    ctx: { signal: AbortSignal; attempt: number; maxAttempts: number; log: JobLog; progress(percent: number): Promise<void> },
  ) => Promise<Record<string, unknown>>
}

/** The abort reason of a job whose runner stops (shutdown) rather than cancels it: the job goes back to the queue. */
class Interrupted extends Error {
  constructor() {
    super('interrupted by shutdown; will resume')
  }
}

/**
 * What kind of failure ended a job, kept in its output so the page can say whether running it again can help:
 * `permanent` (it cannot run as it is: its palette or session is gone, or every provider refused for good),
 * `budget` (stopped by the daily budget: it can run after the reset), `retryable` (providers or the queue failed
 * on every attempt: a later run may well succeed).
 */
type FailureKind = 'permanent' | 'budget' | 'retryable'

/**
 * How a job moves on. The session follows, except where noted: it turns
 * running when the council's first stage starts (not at the claim), and a
 * runner that stops leaves it as it is.
 */
type Change =
  | { to: 'running'; attempt: number; firstStart: boolean }
  | { to: 'succeeded'; at: Date; output: Record<string, unknown>; stage?: string; totals?: SessionTotals }
  | { to: 'failed'; error: string; failure?: FailureKind }
  | { to: 'cancelled' }
  | { to: 'queued'; error: string; interrupted?: boolean }

export function createJobExecutor({ stores, council, logger, jobLogs, cancelPollMs = 1000, meter, observe, events, extract, report }: ExecutorDeps) {
  const { jobs, sessions } = stores
  const publish = (job: JobRow, type: Parameters<JobEventSink['publish']>[1], data: Record<string, unknown>) => events?.publish(job.id, type, data)
  /** The call hooks that tell a job's followers about each member's calls (and their text, when the provider streams). */
  const memberEvents = (job: JobRow) =>
    events
      ? {
          started: (call: { stage: string; agent: string; model: string }) =>
            publish(job, 'member', { agent: call.agent, stage: call.stage, state: 'started', model: call.model }),
          succeeded: (call: { stage: string; agent: string; model: string; tokensIn: number; tokensOut: number; costMicroUsd: number; durationMs: number }) =>
            publish(job, 'member', {
              agent: call.agent,
              stage: call.stage,
              state: 'succeeded',
              model: call.model,
              tokens_in: call.tokensIn,
              tokens_out: call.tokensOut,
              cost_usd: call.costMicroUsd / 1_000_000,
              duration_ms: call.durationMs,
            }),
          callFailed: (call: { stage: string; agent: string; error: string; durationMs: number }) =>
            publish(job, 'member', { agent: call.agent, stage: call.stage, state: 'failed', error: call.error, duration_ms: call.durationMs }),
          onDelta: (call: { stage: string; agent: string }, text: string) => events.delta(job.id, call, text),
          streamWanted: () => events.following(job.id),
        }
      : undefined

  /**
   * Each running job has one AbortSignal, and its reason says why it stopped:
   * JobCancelled (a cancel seen in the jobs table, or passed on by the runner)
   * or Interrupted (the runner is shutting down). Cancellation reaches any
   * worker process through the table: one timer for all jobs running here
   * stamps their heartbeat and reads their cancel flags back, one statement a
   * tick however many jobs run at once (two queries per job took the jobs
   * benchmark's (c) to 14.9 s, one pair for all 7.5 s; docs/PERFORMANCE.md).
   */
  const running = new Map<string, AbortController>()
  const pollCancels = async (ids: string[]) => {
    for (const id of await jobs.heartbeat(ids, new Date())) running.get(id)?.abort(new JobCancelled())
  }
  let ticking = false
  const tick = async () => {
    if (ticking || running.size === 0) return
    ticking = true
    try {
      await pollCancels([...running.keys()])
    } catch {
      // A missed tick is made up on the next one.
    } finally {
      ticking = false
    }
  }
  const timer = setInterval(() => void tick(), cancelPollMs)
  timer.unref()
  const watch = (jobId: string, runner: AbortSignal) => {
    const controller = new AbortController()
    const follow = () => controller.abort(runner.reason instanceof JobCancelled ? runner.reason : new Interrupted())
    if (runner.aborted) follow()
    else runner.addEventListener('abort', follow, { once: true })
    running.set(jobId, controller)
    return {
      signal: controller.signal,
      stop() {
        runner.removeEventListener('abort', follow)
        running.delete(jobId)
      },
    }
  }

  const mirror = (sessionId: string, change: Change) => {
    switch (change.to) {
      case 'running':
        return undefined
      case 'succeeded':
        return change.totals ? sessions.succeed(sessionId, change.totals) : undefined
      case 'failed':
        return sessions.update(sessionId, { status: 'failed', error: change.error })
      case 'cancelled':
        return sessions.update(sessionId, { status: 'cancelled' })
      case 'queued':
        return change.interrupted ? undefined : sessions.update(sessionId, { status: 'queued', error: change.error })
    }
  }
  /**
   * The one way a job changes state, mirrored on its session; false when the
   * job did not move (a claim refused, or the job had already finished). Clients
   * poll the job, so while this process holds the job (it claimed it) the
   * session is written first: a job seen finished has a finished session. A job
   * it does not hold (being claimed, cancelled before it started, given up by
   * the queue) moves only if it is still queued or running, and its session
   * follows only then.
   */
  const transition = async (job: JobRow, change: Change, held: boolean): Promise<boolean> => {
    const move = (): Promise<boolean> => {
      switch (change.to) {
        case 'running':
          return jobs.claim(job.id, change.attempt, change.firstStart)
        case 'failed':
          return jobs.transition(job.id, { to: 'failed', error: change.error, at: new Date(), output: { failure: change.failure ?? 'retryable' } })
        case 'cancelled':
          return jobs.transition(job.id, { ...change, at: new Date() })
        default:
          return jobs.transition(job.id, change)
      }
    }
    if (!job.sessionId) return move()
    if (held) {
      await mirror(job.sessionId, change)
      return move()
    }
    const moved = await move()
    if (moved) await mirror(job.sessionId, change)
    return moved
  }
  /** Ends a job as cancelled: before it started (not held), or while it ran (held). */
  const cancelled = async (job: JobRow, held: boolean, log: JobLog, track: JobTracker | undefined) => {
    if (!(await transition(job, { to: 'cancelled' }, held))) return
    publish(job, 'done', { status: 'cancelled', error: null })
    if (held) log.warn('job cancelled')
    else log.info('cancelled before it started')
    track?.finished('cancelled')
  }

  const runCouncil = async (job: JobRow, ctx: ProcessContext, signal: AbortSignal, log: JobLog, track?: JobTracker): Promise<CouncilOutcome> => {
    // Stage changes are written at once, while the stage's calls start (the next write of the job waits for it, and the
    // council's outcome is recorded only after it: writes stay in order, and one that fails still fails the attempt);
    // progress within a stage at most every 500 ms.
    let lastStage: string | null = null
    let lastWrite = 0
    let stageWrite: Promise<unknown> = Promise.resolve()
    const progress = async (stage: Stage, pct: number) => {
      if (stage !== lastStage) publish(job, 'stage', { stage })
      publish(job, 'progress', { status: 'running', stage, progress: pct })
      if (stage !== lastStage) {
        lastStage = stage
        log.setStage(stage)
        log.info(`stage ${stage} started`)
        lastWrite = Date.now()
        await stageWrite
        stageWrite = Promise.all([jobs.progress(job.id, { stage, progress: pct }), job.sessionId ? sessions.setRunning(job.sessionId, stage) : undefined])
        stageWrite.catch(() => undefined) // awaited below
      } else if (Date.now() - lastWrite > 500) {
        lastWrite = Date.now()
        await stageWrite
        await jobs.progress(job.id, { progress: pct })
      }
    }
    const member = memberEvents(job)
    const outcome = await council
      .run({
      jobId: job.id,
      sessionId: job.sessionId!,
      signal,
      attempt: ctx.attempt,
      maxAttempts: ctx.maxAttempts,
      log,
      progress,
      // The budget meter's hooks, with the metrics tracker's and the events' beside them (a call refused by the meter is not started).
      beforeCall:
        meter?.beforeCall || track || member
          ? async (call) => {
              await meter?.beforeCall?.(job, call)
              track?.callStarted(call)
              member?.started(call)
            }
          : undefined,
      afterCall:
        meter?.afterCall || track || member
          ? async (call) => {
              track?.callFinished(call)
              member?.succeeded(call)
              await meter?.afterCall?.(job, call)
            }
          : undefined,
      callFailed: member?.callFailed,
      onDelta: member?.onDelta,
      streamWanted: member?.streamWanted,
    })
      .catch(async (error: unknown) => {
        await stageWrite.catch(() => undefined)
        throw error
      })
    await stageWrite
    return outcome
  }

  /** The agent proxy: one agent, one input, through the council's call path. The meter settles it from its stored output. */
  const runAgent = async (job: JobRow, signal: AbortSignal, log: JobLog, track?: JobTracker) => {
    const { agent, input } = job.input as { agent: string; input: string }
    log.setStage('agent')
    const member = memberEvents(job)
    const row = await council.callAgent({
      jobId: job.id,
      agent,
      input,
      signal,
      log,
      beforeCall: track || member ? async (call) => (track?.callStarted(call), member?.started(call)) : undefined,
      afterCall: track || member ? async (call) => (track?.callFinished(call), member?.succeeded(call)) : undefined,
      callFailed: member?.callFailed,
      onDelta: member?.onDelta,
      streamWanted: member?.streamWanted,
    })
    return {
      agent: row.agent,
      model: row.model,
      content: row.content,
      tokens: { input: row.tokensIn, output: row.tokensOut },
      cost_usd: row.costMicroUsd / 1_000_000,
    }
  }

  return {
    /** Records a job the queue gave up on without running it (e.g. it stalled too often). */
    async abandon(jobId: string, reason: string): Promise<void> {
      const job = await jobs.find(jobId)
      if (!job) return
      const error = `The queue gave up on this job: ${reason}. Run the session again to resume from its last stored stage.`
      if (!(await transition(job, { to: 'failed', error }, false))) return
      publish(job, 'done', { status: 'failed', error, failure: 'retryable' })
      if (observe) trackJob(observe, job).finished('failed', error)
      jobLogs.forJob(job).error('job abandoned by the queue', { reason })
      await jobLogs.flush()
    },
    /** The JobProcessor handed to the runner. */
    async process(jobId: string, ctx: ProcessContext): Promise<void> {
      const job = await jobs.find(jobId)
      if (!job) throw new PermanentJobError(`job ${jobId} does not exist`)
      if (job.status === 'succeeded' || job.status === 'cancelled' || job.status === 'failed') return
      const log = jobLogs.forJob(job)
      const track = observe ? trackJob(observe, job) : undefined

      const now = new Date()
      // Conditional on the cancel flag: a cancel requested before, or between the read above and this write, is not overwritten.
      if (!(await transition(job, { to: 'running', attempt: ctx.attempt, firstStart: !job.startedAt }, false))) {
        await cancelled(job, false, log, track)
        await jobLogs.flush()
        return
      }
      publish(job, 'progress', { status: 'running', stage: job.stage, progress: job.progress, attempt: ctx.attempt, max_attempts: ctx.maxAttempts })
      log.info(ctx.attempt > 1 ? `attempt ${ctx.attempt} of ${ctx.maxAttempts} started` : 'job started', { attempt: ctx.attempt, kind: job.kind })
      track?.started(now)
      const { signal, stop } = watch(jobId, ctx.signal)

      try {
        if (job.kind === 'council') {
          const outcome = await runCouncil(job, ctx, signal, log, track)
          if (signal.reason instanceof JobCancelled) throw signal.reason
          const at = new Date()
          const error = outcome.partial ? `Partial council: ${outcome.dropped.map((d) => `${d.agent} (${d.stage}): ${d.error}`).join('; ')}` : null
          await transition(job, {
            to: 'succeeded',
            at,
            output: { partial: outcome.partial, dropped: outcome.dropped, synthesis_by: outcome.synthesisBy },
            totals: { partial: outcome.partial, tokensIn: outcome.tokensIn, tokensOut: outcome.tokensOut, costMicroUsd: outcome.costMicroUsd, error, at },
          }, true)
          publish(job, 'done', { status: 'succeeded', error, partial: outcome.partial, dropped: outcome.dropped, synthesis_by: outcome.synthesisBy })
          track?.finished('succeeded')
          log.info(outcome.partial ? 'council finished (partial)' : 'council finished', {
            tokens_in: outcome.tokensIn,
            tokens_out: outcome.tokensOut,
            cost_usd: outcome.costMicroUsd / 1_000_000,
            duration_ms: at.getTime() - (job.startedAt ?? now).getTime(),
          })
        } else if (job.kind === 'extract' && extract) {
          log.setStage('extract')
          publish(job, 'stage', { stage: 'extract' })
          const progress = (percent: number) => {
            publish(job, 'progress', { status: 'running', stage: 'extract', progress: percent })
            return jobs.progress(job.id, { stage: 'extract', progress: percent })
          }
          const output = await extract(job, { signal, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, log, progress })
          if (signal.reason instanceof JobCancelled) throw signal.reason
          await transition(job, { to: 'succeeded', at: new Date(), output, stage: 'extract' }, true)
          publish(job, 'done', { status: 'succeeded', error: null })
          track?.finished('succeeded')
          log.info('job finished')
        } else {
          const output = await runAgent(job, signal, log, track)
          if (signal.reason instanceof JobCancelled) throw signal.reason
          await transition(job, { to: 'succeeded', at: new Date(), output, stage: 'agent' }, true)
          publish(job, 'done', { status: 'succeeded', error: null })
          track?.finished('succeeded')
          log.info('job finished')
        }
      } catch (error) {
        // A cancel the timer has not seen yet still wins over the failure it caused: poll this job now.
        if (!signal.aborted) await pollCancels([jobId]).catch(() => undefined)
        if (signal.reason instanceof JobCancelled) {
          await cancelled(job, true, log, track)
          return
        }
        if (signal.reason instanceof Interrupted) {
          // The runner is shutting down: leave the job to be taken up again, not failed.
          await transition(job, { to: 'queued', error: signal.reason.message, interrupted: true }, true)
          publish(job, 'progress', { status: 'queued', error: signal.reason.message, attempt: ctx.attempt })
          log.warn('interrupted by shutdown; the job will resume from its last finished stage')
          track?.finished('interrupted')
          throw error
        }
        const message = error instanceof Error ? error.message : String(error)
        const permanent = error instanceof PermanentCouncilError || error instanceof PermanentJobError
        if (!permanent && !(error instanceof CouncilError))
          report?.(error, { job_id: job.id, request_id: job.requestId ?? undefined, route: `job:${job.kind}`, user: job.userId ?? undefined })
        if (permanent || ctx.attempt >= ctx.maxAttempts) {
          const failure: FailureKind = (error as Error).name === 'BudgetStopped' ? 'budget' : permanent ? 'permanent' : 'retryable'
          await transition(job, { to: 'failed', error: message, failure }, true)
          publish(job, 'done', { status: 'failed', error: message, failure })
          log.error('job failed', { error: message, attempt: ctx.attempt })
          track?.finished('failed', message)
          throw new PermanentJobError(message)
        }
        await transition(job, { to: 'queued', error: message }, true)
        publish(job, 'progress', { status: 'queued', error: message, attempt: ctx.attempt, max_attempts: ctx.maxAttempts, retrying: true })
        log.warn('attempt failed; will retry', { error: message, attempt: ctx.attempt })
        track?.finished('retrying')
        if (!(error instanceof CouncilError)) logger.error('unexpected job error', { job_id: jobId, stack: (error as Error).stack })
        throw error
      } finally {
        stop()
        await meter?.settle?.(job).catch(() => undefined)
        await jobLogs.flush()
      }
    },
  }
}

export type JobExecutor = ReturnType<typeof createJobExecutor>
