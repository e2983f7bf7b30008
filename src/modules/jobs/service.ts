/**
 * Jobs: enqueue a council run or a single-agent call, read, cancel, read logs.
 * The job row is the source of truth (status, stage, progress, role,
 * request_id); the queue carries only its id. Another user's job is 404.
 */
import { isId, newId } from '../../../db/client'
import { createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { JobRow } from '../../../db/schema'
import type { Actor } from '../../../plugins/auth'
import type { JobEventSink } from '../../../plugins/events'
import type { JobQueue } from '../../../plugins/jobs'
import type { RequestMeta } from '../../../plugins/rbac'
import type { AuditEvent, AuditLog } from '../../../plugins/audit'
import { AppError, conflict, notFound } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { BudgetGate } from '../budgets/service'
import type { BudgetHold } from '../budgets/gate'
import type { PaletteAccess } from '../palettes/service'
import type { Stores, TxStores } from '../../stores'
import type { AdminJobViewType, JobStatus, JobViewType } from './model'
import type { AdminJobRow } from './store'

const ACTIVE: JobStatus[] = ['queued', 'running']
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/

export function toJobView(row: JobRow): JobViewType {
  return {
    id: row.id,
    kind: row.kind as JobViewType['kind'],
    status: row.status as JobStatus,
    stage: row.stage,
    progress: row.progress,
    session_id: row.sessionId,
    request_id: row.requestId,
    role: row.role,
    attempts: row.attempts,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
    error: row.error,
    output: row.output ?? null,
    links: { self: `/api/v1/jobs/${row.id}`, logs: `/api/v1/jobs/${row.id}/logs`, logs_page: `/jobs/${row.id}/logs` },
  }
}

/** Error texts can quote a provider's answer; the admin list shows the start only. */
const ADMIN_ERROR_CHARS = 200

function toAdminJobView(row: AdminJobRow): AdminJobViewType {
  return {
    id: row.id,
    kind: row.kind as AdminJobViewType['kind'],
    status: row.status as JobStatus,
    stage: row.stage,
    progress: row.progress,
    user_id: row.userId,
    email: row.email,
    session_id: row.sessionId,
    request_id: row.requestId,
    role: row.role,
    attempts: row.attempts,
    cancel_requested: row.cancelRequested,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
    heartbeat_at: row.heartbeatAt?.toISOString() ?? null,
    error: row.error === null ? null : row.error.length > ADMIN_ERROR_CHARS ? `${row.error.slice(0, ADMIN_ERROR_CHARS)}…` : row.error,
  }
}

export interface JobsDeps {
  stores: Stores
  audit: AuditLog
  queue: JobQueue
  /** Reserves a run's worst case against the caller's daily budgets before its job is created. */
  budgets?: BudgetGate
  /** A job that ends here, without running (cancelled while queued, or never enqueued), tells its followers. */
  events?: JobEventSink
  /** Refuses a council whose palette is locked for the caller (403 palette_locked) before anything is queued. */
  palettes?: PaletteAccess
}

export function createJobsService({ stores, audit, queue, budgets, events, palettes }: JobsDeps) {
  /** A job's audit event, written in the transaction that changes the job: who, from where, and what of the job. */
  const auditJob = (
    tx: TxStores,
    actor: Actor,
    meta: RequestMeta,
    event: Pick<AuditEvent, 'action' | 'role' | 'target' | 'sessionId' | 'jobId' | 'metadata'>,
  ) => audit.record({ ...meta.audit, ...event }, tx)

  const newJobRow = (actor: Actor, fields: Partial<JobRow> & Pick<JobRow, 'kind'>, meta: RequestMeta, key: string | null): JobRow => ({
    id: newId(),
    userId: actor.userId,
    sessionId: null,
    status: 'queued',
    stage: null,
    progress: 0,
    requestId: meta.requestId,
    role: actor.role,
    idempotencyKey: key,
    input: null,
    output: null,
    error: null,
    attempts: 0,
    cancelRequested: false,
    createdAt: new Date(),
    startedAt: null,
    finishedAt: null,
    heartbeatAt: null,
    ...fields,
  })

  const findByKey = (userId: string, key: string) => stores.jobs.findByIdempotencyKey(userId, key)

  /** Hands a committed job to the queue; if the queue is down the job fails visibly rather than waiting forever. */
  const dispatch = async (row: JobRow) => {
    try {
      await queue.enqueue(row.id)
    } catch (error) {
      const message = `Could not enqueue: ${(error as Error).message}`
      await stores.jobs.update(row.id, { status: 'failed', error: message, output: { failure: 'retryable' }, finishedAt: new Date() })
      if (row.sessionId) await stores.sessions.update(row.sessionId, { status: 'failed' })
      events?.publish(row.id, 'done', { status: 'failed', error: message, failure: 'retryable' })
      throw new AppError(503, 'queue_unavailable', 'The job queue is unavailable; try again shortly. Operators: check /readyz.')
    }
  }

  /** A council run ready to be written: its job row, the caller's budget hold and the audit event's request. */
  interface RunIntake {
    meta: RequestMeta
    row: JobRow
    sessionId: string
    hold: BudgetHold | undefined
  }
  const runAudit = ({ meta, row, sessionId }: RunIntake): AuditEvent => ({
    ...meta.audit,
    action: 'session.run',
    role: row.role,
    target: `session:${sessionId}`,
    sessionId,
    jobId: row.id,
  })
  /** One run in its own transaction: its reservation, job row, session status and audit event commit together or not at all. */
  const writeRun = (run: RunIntake) =>
    stores.transaction(async (tx) => {
      await run.hold?.reserve(tx, run.row.id)
      await tx.jobs.insert(run.row)
      await tx.sessions.update(run.sessionId, { status: 'queued', error: null })
      await audit.record(runAudit(run), tx)
    })
  /**
   * Runs requested together share statements (db/coalesce.ts): one transaction
   * reserves every budget hold (BudgetLedger.reserveMany decides them as if one
   * after another), inserts the accepted jobs, marks their sessions queued and
   * records their audit events. A refused hold fails only its own request. If
   * the shared transaction fails (two requests with one Idempotency-Key, say),
   * nothing of it stays and each run is written again on its own, exactly as alone.
   */
  const intake = createCoalescer<RunIntake, true>(
    async (runs) => {
      if (runs.length === 1) return [await writeRun(runs[0]!).then(() => true as const, (error: unknown) => new ItemFailure(error))]
      try {
        return await stores.transaction(async (tx) => {
          const held = runs.filter((run) => run.hold)
          const outcomes = held.length > 0 ? await tx.budgets.reserveMany(held.map((run) => run.hold!.request(run.row.id))) : []
          const refused = new Map<RunIntake, Error>()
          held.forEach((run, i) => {
            const outcome = outcomes[i]!
            if (!outcome.granted) refused.set(run, run.hold!.refusal(outcome.day))
          })
          const accepted = runs.filter((run) => !refused.has(run))
          if (accepted.length > 0) {
            await tx.jobs.insertMany(accepted.map((run) => run.row))
            await tx.sessions.updateMany(accepted.map((run) => run.sessionId), { status: 'queued', error: null })
            await audit.recordAll(accepted.map(runAudit), tx)
          }
          return runs.map((run) => (refused.has(run) ? new ItemFailure(refused.get(run)) : (true as const)))
        })
      } catch {
        return Promise.all(runs.map((run) => writeRun(run).then(() => true as const, (error: unknown) => new ItemFailure(error))))
      }
    },
    { maxBatch: 250, maxInFlight: 2 },
  )

  const checkKey = (key: string | undefined) => {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      throw new AppError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1–128 characters of letters, digits, . _ : -')
    return key ?? null
  }

  /** Cancels a queued job at once, or asks a running one to stop (its runner sees the flag); audited in the same transaction. */
  const cancelJob = async (actor: Actor, job: JobRow, meta: RequestMeta, metadata?: Record<string, unknown>): Promise<JobRow> => {
    const id = job.id
    if (!ACTIVE.includes(job.status as JobStatus))
      throw conflict('job_finished', `The job has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}.`)
    const now = new Date()
    const queued = job.status === 'queued'
    await stores.transaction(async (tx) => {
      await tx.jobs.update(id, queued ? { cancelRequested: true, status: 'cancelled', finishedAt: now } : { cancelRequested: true })
      if (queued && job.sessionId) await tx.sessions.update(job.sessionId, { status: 'cancelled' })
      await auditJob(tx, actor, meta, { action: 'job.cancel', role: job.role, target: `job:${id}`, sessionId: job.sessionId, jobId: id, ...(metadata ? { metadata } : {}) })
    })
    await queue.cancel(id)
    if (queued) events?.publish(id, 'done', { status: 'cancelled', error: null })
    return { ...job, cancelRequested: true, ...(queued ? { status: 'cancelled', finishedAt: now } : {}) }
  }

  return {
    /** Enqueues a council run of the caller's session. The same Idempotency-Key returns the same job. */
    async runSession(actor: Actor, sessionId: string, idempotencyKey: string | undefined, meta: RequestMeta) {
      const key = checkKey(idempotencyKey)
      if (key) {
        const existing = await findByKey(actor.userId, key)
        if (existing) {
          if (existing.sessionId !== sessionId)
            throw conflict('idempotency_key_reused', 'This Idempotency-Key was already used for another request.')
          return { job: existing, created: false }
        }
      }
      if (!isId(sessionId)) throw notFound('Session')
      const session = await stores.sessions.findLive(sessionId, actor.userId)
      if (!session) throw notFound('Session')
      if (session.status === 'succeeded') throw conflict('already_completed', 'This session already has its answer; create a new session to ask again.')
      const active = await stores.jobs.activeForSession(sessionId)
      if (active) throw conflict('run_in_progress', `This session is already running as job ${active.id}.`)

      await palettes?.requireRunnable(actor, session.paletteId)
      const row = newJobRow(actor, { kind: 'council', sessionId }, meta, key)
      const hold = await budgets?.prepareRun(actor, { kind: 'council', paletteId: session.paletteId })
      try {
        await intake.add({ meta, row, sessionId, hold })
      } catch (error) {
        // Two requests with the same key at once: the loser answers with the winner's job.
        const winner = key ? await findByKey(actor.userId, key) : undefined
        if (winner) return { job: winner, created: false }
        throw error
      }
      await dispatch(row)
      return { job: row, created: true }
    },

    /** Enqueues a direct call of one agent (the agent proxy). The route has already checked the allowlist. */
    async runAgent(actor: Actor, agentName: string, input: string, idempotencyKey: string | undefined, meta: RequestMeta) {
      const key = checkKey(idempotencyKey)
      if (key) {
        const existing = await findByKey(actor.userId, key)
        if (existing) return { job: existing, created: false }
      }
      if (input.includes('\u0000')) throw new AppError(422, 'invalid_characters', 'The input contains a NUL character; remove it and try again.')
      if (!(await stores.catalog.agent(agentName))) throw notFound('Agent')
      const row = newJobRow(actor, { kind: 'agent', input: { agent: agentName, input } }, meta, key)
      const hold = await budgets?.prepareRun(actor, { kind: 'agent', agent: agentName })
      await stores.transaction(async (tx) => {
        await hold?.reserve(tx, row.id)
        await tx.jobs.insert(row)
        await auditJob(tx, actor, meta, {
          action: 'agent.call',
          role: row.role,
          target: `agent:${agentName}`,
          jobId: row.id,
          metadata: { agent: agentName, input_chars: input.length },
        })
      })
      await dispatch(row)
      return { job: row, created: true }
    },

    async get(actor: Actor, id: string): Promise<JobRow> {
      if (!isId(id)) throw notFound('Job')
      const row = await stores.jobs.findOwned(id, actor.userId)
      if (!row) throw notFound('Job')
      return row
    },

    /** The newest job of a session (for its page). */
    latestForSession(sessionId: string): Promise<JobRow | undefined> {
      return stores.jobs.latestForSession(sessionId)
    },

    async cancel(actor: Actor, id: string, meta: RequestMeta): Promise<JobRow> {
      return cancelJob(actor, await this.get(actor, id), meta)
    },

    /** Everyone's jobs in the given statuses (all when none), newest first, metadata only (GET /api/admin/jobs). */
    async everyone(statuses: readonly JobStatus[], params: PageParams): Promise<Page<AdminJobViewType>> {
      return toPage(await stores.jobs.everyone(statuses, params.after, params.limit + 1), params, toAdminJobView)
    },

    /** How many jobs are in each status, across users. */
    statusCounts(): Promise<Record<string, number>> {
      return stores.jobs.statusCounts()
    },

    /** An admin cancels anyone's queued or running job; audited as job.cancel with the owner named. */
    async cancelAny(actor: Actor, id: string, meta: RequestMeta): Promise<JobRow> {
      const job = isId(id) ? await stores.jobs.find(id) : undefined
      if (!job) throw notFound('Job')
      return cancelJob(actor, job, meta, { by_admin: true, owner_id: job.userId })
    },

    async logs(actor: Actor, id: string, params: PageParams) {
      await this.get(actor, id)
      const rows = await stores.jobs.logs(id, params.after, params.limit + 1)
      return toPage(rows, params, (row) => ({
        ts: row.ts.toISOString(),
        level: row.level,
        msg: row.msg,
        job_id: row.jobId,
        request_id: row.requestId,
        stage: row.stage,
        data: row.data ?? null,
      }))
    },
  }
}

export type JobsService = ReturnType<typeof createJobsService>
