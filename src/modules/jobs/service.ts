/**
 * Jobs: enqueue a council run or a single-agent call, read, cancel, read logs.
 * The job row is the source of truth (status, stage, progress, role,
 * request_id); the queue carries only its id. Another user's job is 404.
 */
import { and, asc, desc, eq, gt, inArray } from 'drizzle-orm'
import { legacyAuditWithin } from '../../stores'
import { isId, newId, type Database, type Executor } from '../../../db/client'
import type { Actor } from '../../../plugins/auth'
import { primaryRole } from '../../../plugins/auth'
import type { JobQueue } from '../../../plugins/jobs'
import type { RequestMeta } from '../../../plugins/rbac'
import { AppError, conflict, notFound } from '../../errors'
import { toPage, type PageParams } from '../../pagination'
import type { AuditEvent, AuditLog } from '../../../plugins/audit'
import type { BudgetGate } from '../budgets/service'
import type { JobStatus, JobViewType } from './model'

type JobRow = typeof import('../../../db/schema/sqlite').jobs.$inferSelect

const ACTIVE: JobStatus[] = ['queued', 'running']
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/

export function toJobView(row: JobRow): JobViewType {
  return {
    id: row.id,
    kind: row.kind as 'council' | 'agent',
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

export interface JobsDeps {
  db: Database
  audit: AuditLog
  queue: JobQueue
  agentRoleAllowlist: string[]
  /** Reserves a run's worst case against the caller's daily budgets before its job is created. */
  budgets?: BudgetGate
}

export function createJobsService({ db, audit, queue, agentRoleAllowlist, budgets }: JobsDeps) {
  const { jobs, sessions, jobLogs, agents } = db.t

  /** A job's audit event, written in the transaction that changes the job: who, from where, and what of the job. */
  const auditJob = (
    tx: Executor,
    actor: Actor,
    meta: RequestMeta,
    event: Pick<AuditEvent, 'action' | 'role' | 'target' | 'sessionId' | 'jobId' | 'metadata'>,
  ) => audit.record({ ...event, actorId: actor.userId, actor: actor.email, requestId: meta.requestId, ip: meta.ip }, legacyAuditWithin(db, tx))

  const newJobRow = (actor: Actor, fields: Partial<JobRow> & Pick<JobRow, 'kind'>, meta: RequestMeta, key: string | null): JobRow => ({
    id: newId(),
    userId: actor.userId,
    sessionId: null,
    status: 'queued',
    stage: null,
    progress: 0,
    requestId: meta.requestId,
    role: primaryRole(actor, agentRoleAllowlist),
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

  const findByKey = async (userId: string, key: string) =>
    (await db.orm.select().from(jobs).where(and(eq(jobs.userId, userId), eq(jobs.idempotencyKey, key))).limit(1))[0]

  /** Hands a committed job to the queue; if the queue is down the job fails visibly rather than waiting forever. */
  const dispatch = async (row: JobRow) => {
    try {
      await queue.enqueue(row.id)
    } catch (error) {
      await db.orm
        .update(jobs)
        .set({ status: 'failed', error: `Could not enqueue: ${(error as Error).message}`, finishedAt: new Date() })
        .where(eq(jobs.id, row.id))
      if (row.sessionId) await db.orm.update(sessions).set({ status: 'failed', updatedAt: new Date() }).where(eq(sessions.id, row.sessionId))
      throw new AppError(503, 'queue_unavailable', 'The job queue is unavailable; try again shortly. Operators: check /readyz.')
    }
  }

  const checkKey = (key: string | undefined) => {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      throw new AppError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1–128 characters of letters, digits, . _ : -')
    return key ?? null
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
      const [session] = await db.orm
        .select()
        .from(sessions)
        .where(and(eq(sessions.id, sessionId), eq(sessions.userId, actor.userId)))
        .limit(1)
      if (!session || session.deletedAt) throw notFound('Session')
      if (session.status === 'succeeded') throw conflict('already_completed', 'This session already has its answer; create a new session to ask again.')
      const [active] = await db.orm
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.sessionId, sessionId), inArray(jobs.status, ACTIVE)))
        .limit(1)
      if (active) throw conflict('run_in_progress', `This session is already running as job ${active.id}.`)

      const row = newJobRow(actor, { kind: 'council', sessionId }, meta, key)
      const hold = await budgets?.prepareRun(actor, { kind: 'council', paletteId: session.paletteId })
      try {
        await db.orm.transaction(async (tx) => {
          await hold?.reserve(tx, row.id)
          await tx.insert(jobs).values(row)
          await tx.update(sessions).set({ status: 'queued', error: null, updatedAt: new Date() }).where(eq(sessions.id, sessionId))
          await auditJob(tx, actor, meta, { action: 'session.run', role: row.role, target: `session:${sessionId}`, sessionId, jobId: row.id })
        })
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
      const [agent] = await db.orm.select({ name: agents.name }).from(agents).where(eq(agents.name, agentName)).limit(1)
      if (!agent) throw notFound('Agent')
      const row = newJobRow(actor, { kind: 'agent', input: { agent: agentName, input } }, meta, key)
      const hold = await budgets?.prepareRun(actor, { kind: 'agent', agent: agentName })
      await db.orm.transaction(async (tx) => {
        await hold?.reserve(tx, row.id)
        await tx.insert(jobs).values(row)
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
      const [row] = await db.orm.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.userId, actor.userId))).limit(1)
      if (!row) throw notFound('Job')
      return row
    },

    /** The newest job of a session (for its page). */
    async latestForSession(sessionId: string): Promise<JobRow | undefined> {
      const [row] = await db.orm.select().from(jobs).where(eq(jobs.sessionId, sessionId)).orderBy(desc(jobs.id)).limit(1)
      return row
    },

    async cancel(actor: Actor, id: string, meta: RequestMeta): Promise<JobRow> {
      const job = await this.get(actor, id)
      if (!ACTIVE.includes(job.status as JobStatus))
        throw conflict('job_finished', `The job has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}.`)
      const now = new Date()
      const queued = job.status === 'queued'
      await db.orm.transaction(async (tx) => {
        await tx
          .update(jobs)
          .set(queued ? { cancelRequested: true, status: 'cancelled', finishedAt: now } : { cancelRequested: true })
          .where(eq(jobs.id, id))
        if (queued && job.sessionId)
          await tx.update(sessions).set({ status: 'cancelled', updatedAt: now }).where(eq(sessions.id, job.sessionId))
        await auditJob(tx, actor, meta, { action: 'job.cancel', role: job.role, target: `job:${id}`, sessionId: job.sessionId, jobId: id })
      })
      await queue.cancel(id)
      return { ...job, cancelRequested: true, ...(queued ? { status: 'cancelled', finishedAt: now } : {}) }
    },

    async logs(actor: Actor, id: string, params: PageParams) {
      await this.get(actor, id)
      const where = params.after ? and(eq(jobLogs.jobId, id), gt(jobLogs.id, params.after)) : eq(jobLogs.jobId, id)
      const rows = await db.orm.select().from(jobLogs).where(where).orderBy(asc(jobLogs.id)).limit(params.limit + 1)
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
