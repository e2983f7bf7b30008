/**
 * Runs one job by id — the same code under the in-process runner and in the
 * BullMQ worker process. It mirrors status, stage and progress into the job
 * row, stops cleanly when the job is cancelled (the cancel flag is polled from
 * the database, so it works across processes), and decides between retry and
 * final failure.
 */
import { and, eq, inArray, sql } from 'drizzle-orm'
import { executePg, newId, type Database } from '../../../db/client'
import { byGroup, createCoalescer, ItemFailure } from '../../../db/coalesce'
import { JobCancelled, PermanentJobError, type ProcessContext } from '../../../plugins/jobs'
import type { Logger } from '../../../plugins/logging/logger'
import { trackJob, type JobObserver, type JobTracker } from '../../../plugins/metrics/jobs'
import { CouncilError, PermanentCouncilError, type Council, type Stage } from '../../council/engine'
import type { Config } from '../../config'
import { modelFor } from '../../llm'
import { costMicroUsd } from '../../llm/pricing'
import type { LlmProvider } from '../../llm/types'
import type { JobLogWriter } from './job-log'

type JobRow = typeof import('../../../db/schema/sqlite').jobs.$inferSelect

export interface ExecutorDeps {
  db: Database
  council: Council
  llm: LlmProvider
  config: Config
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
}

class Cancelled extends Error {}

interface SucceededCouncil {
  jobId: string
  sessionId: string
  finishedAt: Date
  session: { partial: boolean; tokensIn: number; tokensOut: number; costMicroUsd: number; error: string | null }
  output: Record<string, unknown>
}

export function createJobExecutor({ db, council, llm, config, logger, jobLogs, cancelPollMs = 1000, meter, observe }: ExecutorDeps) {
  const { jobs, sessions, agents, stageOutputs } = db.t

  /**
   * Cancellation reaches any worker process through the jobs table: one timer
   * for all jobs running here asks, in one query, which of them were cancelled,
   * and stamps the others' heartbeat in another — two queries a tick however
   * many jobs run at once.
   */
  const running = new Map<string, AbortController>()
  let ticking = false
  const tick = async () => {
    if (ticking || running.size === 0) return
    ticking = true
    try {
      const ids = [...running.keys()]
      const cancelled = await db.orm
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(inArray(jobs.id, ids), eq(jobs.cancelRequested, true)))
      for (const { id } of cancelled) running.get(id)?.abort()
      await db.orm.update(jobs).set({ heartbeatAt: new Date() }).where(inArray(jobs.id, ids))
    } catch {
      // A missed tick is made up on the next one.
    } finally {
      ticking = false
    }
  }
  const timer = setInterval(() => void tick(), cancelPollMs)
  timer.unref()
  const watchForCancel = (jobId: string) => {
    const controller = new AbortController()
    running.set(jobId, controller)
    return controller
  }

  // Reads of job rows and progress writes are coalesced across the jobs running here (see db/coalesce.ts).
  const loadJob = createCoalescer<string, JobRow | undefined>(async (ids) => {
    const rows = await db.orm.select().from(jobs).where(inArray(jobs.id, ids))
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  })
  /** Marks jobs running, one statement for all that start together (same attempt number). */
  const claim = createCoalescer<{ id: string; attempt: number; firstStart: boolean }, boolean>((items) =>
    byGroup(
      items,
      (item) => `${item.attempt}:${item.firstStart}`,
      async (group) => {
        const now = new Date()
        const { attempt, firstStart } = group[0]!
        const rows = await db.orm
          .update(jobs)
          .set({ status: 'running', attempts: attempt, heartbeatAt: now, error: null, ...(firstStart ? { startedAt: now } : {}) })
          .where(and(inArray(jobs.id, group.map((item) => item.id)), inArray(jobs.status, ['queued', 'running']), eq(jobs.cancelRequested, false)))
          .returning({ id: jobs.id })
        const ids = new Set(rows.map((row) => row.id))
        return group.map((item) => ids.has(item.id))
      },
    ),
  )
  type ProgressWrite<Fields> = { id: string; fields: Fields }
  /** One UPDATE … WHERE id IN (…) for all rows that get the same values. */
  const progressWriter = <Fields>(apply: (ids: string[], fields: Fields) => Promise<unknown>) =>
    createCoalescer<ProgressWrite<Fields>, void>((items) =>
      byGroup(
        items,
        (item) => JSON.stringify(item.fields),
        async (group) => {
          await apply(group.map((item) => item.id), group[0]!.fields)
          return group.map(() => undefined)
        },
      ),
    )
  const jobProgress = progressWriter<{ stage?: string; progress: number }>((ids, fields) =>
    db.orm.update(jobs).set(fields).where(inArray(jobs.id, ids)),
  )
  const sessionProgress = progressWriter<{ status: string; stage: string }>((ids, fields) =>
    db.orm.update(sessions).set({ ...fields, updatedAt: new Date() }).where(inArray(sessions.id, ids)),
  )

  const setJob = (id: string, fields: Partial<JobRow>) => db.orm.update(jobs).set(fields).where(eq(jobs.id, id))
  const setSession = (id: string | null, fields: Partial<typeof sessions.$inferInsert>) =>
    id ? db.orm.update(sessions).set({ ...fields, updatedAt: new Date() }).where(eq(sessions.id, id)) : Promise.resolve()

  const recordOneSucceeded = async (item: SucceededCouncil) => {
    await setSession(item.sessionId, { status: 'succeeded', stage: 'synthesis', ...item.session })
    await setJob(item.jobId, { status: 'succeeded', progress: 100, finishedAt: item.finishedAt, output: item.output })
  }
  const recordBatchSucceeded = async (items: SucceededCouncil[]) => {
    const sessionRows = JSON.stringify(
      items.map((item) => ({
        id: item.sessionId,
        partial: item.session.partial,
        tokens_in: item.session.tokensIn,
        tokens_out: item.session.tokensOut,
        cost_micro_usd: item.session.costMicroUsd,
        error: item.session.error,
        at: item.finishedAt.toISOString(),
      })),
    )
    await executePg(db, sql`
      update sessions as s set status = 'succeeded', stage = 'synthesis', partial = r.partial, tokens_in = r.tokens_in,
        tokens_out = r.tokens_out, cost_micro_usd = r.cost_micro_usd, error = r.error, updated_at = r.at
      from json_to_recordset(${sessionRows}::json) as r(id text, partial boolean, tokens_in integer, tokens_out integer,
        cost_micro_usd bigint, error text, at timestamptz)
      where s.id = r.id`)
    const jobRows = JSON.stringify(items.map((item) => ({ id: item.jobId, at: item.finishedAt.toISOString(), output: item.output })))
    await executePg(db, sql`
      update jobs as j set status = 'succeeded', progress = 100, finished_at = r.at, output = r.output
      from json_to_recordset(${jobRows}::json) as r(id text, at timestamptz, output jsonb)
      where j.id = r.id`)
  }
  /**
   * The last writes of a council that succeeded: its session's totals, then its
   * job. Councils started together finish together (1,000 within a few ms in
   * the jobs benchmark), and two single-row UPDATEs each were the largest part
   * of the time between the last synthesis and the last job marked done
   * (docs/PERFORMANCE.md). On PostgreSQL a batch is one UPDATE per table, its
   * rows passed as one JSON parameter. If that fails, the batch is written row
   * by row, so a bad row (text PostgreSQL refuses, say) fails its own council
   * only, as before batching; libsql always writes row by row (writes take turns there anyway).
   */
  const recordSucceeded = createCoalescer<SucceededCouncil, void>(async (items) => {
    if (db.dialect === 'pg' && items.length > 1) {
      try {
        await recordBatchSucceeded(items)
        return items.map(() => undefined)
      } catch {
        // Fall through: row by row, each council on its own.
      }
    }
    const results: Array<void | ItemFailure> = []
    for (const item of items) results.push(await recordOneSucceeded(item).catch((error: unknown) => new ItemFailure(error)))
    return results
  })

  const runAgent = async (job: JobRow, signal: AbortSignal, log: ReturnType<JobLogWriter['forJob']>, track?: JobTracker) => {
    const { agent: name, input } = job.input as { agent: string; input: string }
    const [agent] = await db.orm.select().from(agents).where(eq(agents.name, name)).limit(1)
    if (!agent) throw new PermanentCouncilError(`Agent "${name}" no longer exists.`)
    const model = modelFor(config, agent.model)
    log.setStage('agent')
    log.info(`calling agent ${name}`, { agent: name, model })
    track?.callStarted({ stage: 'agent', agent: name, model })
    const started = performance.now()
    const result = await llm.complete({
      model,
      messages: [
        { role: 'system', content: `${agent.persona}\n\nAgent: ${agent.name}` },
        { role: 'user', content: `Question: ${input}` },
      ],
      temperature: agent.temperature,
      maxTokens: config.council.maxTokens,
      signal,
    })
    const cost = costMicroUsd(config.llm.prices, result.model, result.tokensIn, result.tokensOut)
    track?.callFinished({ stage: 'agent', agent: name, tokensIn: result.tokensIn, tokensOut: result.tokensOut, costMicroUsd: cost })
    await db.orm
      .insert(stageOutputs)
      .values({
        id: newId(),
        runId: job.id,
        sessionId: null,
        jobId: job.id,
        stage: 'agent',
        agent: name,
        status: 'ok',
        content: result.content,
        data: null,
        error: null,
        model: result.model,
        tokensIn: result.tokensIn,
        tokensOut: result.tokensOut,
        costMicroUsd: cost,
        durationMs: Math.round(performance.now() - started),
        createdAt: new Date(),
      })
      .onConflictDoNothing()
    log.info(`agent ${name} answered`, { agent: name, tokens_in: result.tokensIn, tokens_out: result.tokensOut })
    return {
      agent: name,
      model: result.model,
      content: result.content,
      tokens: { input: result.tokensIn, output: result.tokensOut },
      cost_usd: cost / 1_000_000,
    }
  }

  return {
    /** Records a job the queue gave up on without running it (e.g. it stalled too often). */
    async abandon(jobId: string, reason: string): Promise<void> {
      const job = await loadJob.add(jobId)
      if (!job || !['queued', 'running'].includes(job.status)) return
      const message = `The queue gave up on this job: ${reason}. Run the session again to resume from its last stored stage.`
      await setJob(jobId, { status: 'failed', finishedAt: new Date(), error: message })
      await setSession(job.sessionId, { status: 'failed', error: message })
      if (observe) trackJob(observe, job).finished('failed')
      jobLogs.forJob(job).error('job abandoned by the queue', { reason })
      await jobLogs.flush()
    },
    /** The JobProcessor handed to the runner. */
    async process(jobId: string, ctx: ProcessContext): Promise<void> {
      const job = await loadJob.add(jobId)
      if (!job) throw new PermanentJobError(`job ${jobId} does not exist`)
      if (job.status === 'succeeded' || job.status === 'cancelled' || job.status === 'failed') return
      const log = jobLogs.forJob(job)
      const track = observe ? trackJob(observe, job) : undefined
      if (job.cancelRequested) {
        await setJob(jobId, { status: 'cancelled', finishedAt: new Date() })
        await setSession(job.sessionId, { status: 'cancelled' })
        log.info('cancelled before it started')
        track?.finished('cancelled')
        await jobLogs.flush()
        return
      }

      const now = new Date()
      // Conditional: a cancel that lands between the read above and this write must not be overwritten.
      const claimed = await claim.add({ id: jobId, attempt: ctx.attempt, firstStart: !job.startedAt })
      if (!claimed) {
        const [latest] = await db.orm.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)).limit(1)
        if (latest?.status === 'queued' || latest?.status === 'running') {
          await setJob(jobId, { status: 'cancelled', finishedAt: new Date() })
          await setSession(job.sessionId, { status: 'cancelled' })
          log.info('cancelled before it started')
          track?.finished('cancelled')
          await jobLogs.flush()
        }
        return
      }
      log.info(ctx.attempt > 1 ? `attempt ${ctx.attempt} of ${ctx.maxAttempts} started` : 'job started', {
        attempt: ctx.attempt,
        kind: job.kind,
      })

      track?.started(now)
      const cancel = watchForCancel(jobId)
      const signal = AbortSignal.any([ctx.signal, cancel.signal])

      // Stage changes are written at once; progress within a stage at most every 500 ms.
      let lastStage: string | null = null
      let lastWrite = 0
      const progress = async (stage: Stage, pct: number) => {
        if (stage !== lastStage) {
          lastStage = stage
          log.setStage(stage)
          log.info(`stage ${stage} started`)
          lastWrite = Date.now()
          await Promise.all([
            jobProgress.add({ id: jobId, fields: { stage, progress: pct } }),
            job.sessionId ? sessionProgress.add({ id: job.sessionId, fields: { status: 'running', stage } }) : undefined,
          ])
        } else if (Date.now() - lastWrite > 500) {
          lastWrite = Date.now()
          await jobProgress.add({ id: jobId, fields: { progress: pct } })
        }
      }

      try {
        if (job.kind === 'council') {
          const outcome = await council.run({
            jobId,
            sessionId: job.sessionId!,
            signal,
            attempt: ctx.attempt,
            maxAttempts: ctx.maxAttempts,
            log,
            progress,
            // The budget meter's hooks, with the metrics tracker's beside them (a call refused by the meter is not started).
            beforeCall:
              meter?.beforeCall || track
                ? async (call) => {
                    await meter?.beforeCall?.(job, call)
                    track?.callStarted(call)
                  }
                : undefined,
            afterCall:
              meter?.afterCall || track
                ? async (call) => {
                    track?.callFinished(call)
                    await meter?.afterCall?.(job, call)
                  }
                : undefined,
          })
          if (cancel.signal.aborted) throw new Cancelled()
          const finished = new Date()
          await recordSucceeded.add({
            jobId,
            sessionId: job.sessionId!,
            finishedAt: finished,
            session: {
              partial: outcome.partial,
              tokensIn: outcome.tokensIn,
              tokensOut: outcome.tokensOut,
              costMicroUsd: outcome.costMicroUsd,
              error: outcome.partial ? `Partial council: ${outcome.dropped.map((d) => `${d.agent} (${d.stage}): ${d.error}`).join('; ')}` : null,
            },
            output: { partial: outcome.partial, dropped: outcome.dropped, synthesis_by: outcome.synthesisBy },
          })
          track?.finished('succeeded')
          log.info(outcome.partial ? 'council finished (partial)' : 'council finished', {
            tokens_in: outcome.tokensIn,
            tokens_out: outcome.tokensOut,
            cost_usd: outcome.costMicroUsd / 1_000_000,
            duration_ms: finished.getTime() - (job.startedAt ?? now).getTime(),
          })
        } else {
          const output = await runAgent(job, signal, log, track)
          if (cancel.signal.aborted) throw new Cancelled()
          await setJob(jobId, { status: 'succeeded', stage: 'agent', progress: 100, finishedAt: new Date(), output })
          track?.finished('succeeded')
          log.info('job finished')
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        // A cancel may arrive as the runner's abort reason, or only as the database flag not yet polled.
        const cancelled =
          cancel.signal.aborted ||
          error instanceof Cancelled ||
          ctx.signal.reason instanceof JobCancelled ||
          (await db.orm.select({ flag: jobs.cancelRequested }).from(jobs).where(eq(jobs.id, jobId)).limit(1))[0]?.flag === true
        if (cancelled) {
          await setJob(jobId, { status: 'cancelled', finishedAt: new Date(), error: null })
          await setSession(job.sessionId, { status: 'cancelled' })
          log.warn('job cancelled')
          track?.finished('cancelled')
          return
        }
        if (ctx.signal.aborted) {
          // The runner is shutting down: leave the job to be taken up again, not failed.
          await setJob(jobId, { status: 'queued', error: 'interrupted by shutdown; will resume' })
          log.warn('interrupted by shutdown; the job will resume from its last finished stage')
          track?.finished('interrupted')
          throw error
        }
        const permanent = error instanceof PermanentCouncilError || error instanceof PermanentJobError
        if (permanent || ctx.attempt >= ctx.maxAttempts) {
          await setJob(jobId, { status: 'failed', finishedAt: new Date(), error: message })
          await setSession(job.sessionId, { status: 'failed', error: message })
          log.error('job failed', { error: message, attempt: ctx.attempt })
          track?.finished('failed')
          throw new PermanentJobError(message)
        }
        await setJob(jobId, { status: 'queued', error: message })
        await setSession(job.sessionId, { status: 'queued', error: message })
        log.warn('attempt failed; will retry', { error: message, attempt: ctx.attempt })
        track?.finished('retrying')
        if (!(error instanceof CouncilError)) logger.error('unexpected job error', { job_id: jobId, stack: (error as Error).stack })
        throw error
      } finally {
        running.delete(jobId)
        await meter?.settle?.(job).catch(() => undefined)
        await jobLogs.flush()
      }
    },
  }
}

export type JobExecutor = ReturnType<typeof createJobExecutor>
