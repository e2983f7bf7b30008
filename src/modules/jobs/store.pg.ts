/**
 * Jobs on PostgreSQL. In the worker, many jobs move together (1,000 councils
 * start, change stage and finish within milliseconds of each other), so the
 * store at the root shares statements between them (db/coalesce.ts): reads of
 * job rows, claims, progress and transitions. Coalescing took the jobs
 * benchmark's (c) from 7.5 to 4.5–5.3 s and its worker's RSS from 377 to
 * ~265 MB (docs/PERFORMANCE.md).
 */
import { and, asc, count, desc, eq, gt, inArray, lt, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { byGroup, createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { JobLogRow, JobRow } from '../../../db/schema'
import { jobLogs, jobs, users } from '../../../db/schema/pg'
import { inChunks, ROWS_PER_INSERT, transitionFields, UNFINISHED, type JobStore, type JobTransition } from './store'

export interface PgJobStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgJobStore(db: PgExec, { coalesce }: PgJobStoreOptions): JobStore {
  const readJobs = (ids: string[]) => db.select().from(jobs).where(inArray(jobs.id, ids))
  const claimJobs = async (ids: string[], attempt: number, firstStart: boolean): Promise<Set<string>> => {
    const now = new Date()
    const rows = await db
      .update(jobs)
      .set({ status: 'running', attempts: attempt, heartbeatAt: now, error: null, ...(firstStart ? { startedAt: now } : {}) })
      .where(and(inArray(jobs.id, ids), inArray(jobs.status, [...UNFINISHED]), eq(jobs.cancelRequested, false)))
      .returning({ id: jobs.id })
    return new Set(rows.map((row) => row.id))
  }
  const writeProgress = (ids: string[], fields: { stage?: string; progress: number }) => db.update(jobs).set(fields).where(inArray(jobs.id, ids))
  const transitionOne = async (id: string, change: JobTransition): Promise<boolean> => {
    const rows = await db
      .update(jobs)
      .set(transitionFields(change))
      .where(and(eq(jobs.id, id), inArray(jobs.status, [...UNFINISHED])))
      .returning({ id: jobs.id })
    return rows.length > 0
  }
  /**
   * Transitions of jobs that finish together as one UPDATE, their rows passed
   * as one JSON parameter: the councils of the jobs benchmark finish within a
   * few ms of each other, and a single-row UPDATE each (with their sessions')
   * was the largest part of the time between the last synthesis and the last
   * job marked done (+303 ms → +34 ms; (c) 4.25 → 3.83 s, docs/PERFORMANCE.md).
   * The columns follow transitionFields: a null stage, time or output keeps
   * the stored one.
   */
  const transitionBatch = async (items: Array<{ id: string; change: JobTransition }>): Promise<Set<string>> => {
    const rows = JSON.stringify(
      items.map(({ id, change }) => ({
        id,
        status: change.to,
        stage: change.to === 'succeeded' ? (change.stage ?? null) : null,
        error: change.to === 'failed' || change.to === 'queued' ? change.error : null,
        at: change.to === 'queued' ? null : change.at.toISOString(),
        output: change.to === 'succeeded' || change.to === 'failed' ? (change.output ?? null) : null,
      })),
    )
    const result = await db.execute<{ id: string }>(sql`
      update jobs as j set status = r.status, stage = coalesce(r.stage, j.stage),
        progress = case when r.status = 'succeeded' then 100 else j.progress end,
        error = r.error, finished_at = coalesce(r.at, j.finished_at), output = coalesce(r.output, j.output)
      from json_to_recordset(${rows}::json) as r(id text, status text, stage text, error text, at timestamptz, output jsonb)
      where j.id = r.id and j.status in ('queued', 'running')
      returning j.id`)
    return new Set(result.rows.map((row) => row.id))
  }

  /** The unfinished job of each session asked about at one moment (runs of a burst each check theirs). */
  const activeTogether = createCoalescer<string, { id: string } | undefined>(async (sessionIds) => {
    const rows = await db
      .select({ id: jobs.id, sessionId: jobs.sessionId })
      .from(jobs)
      .where(and(inArray(jobs.sessionId, [...new Set(sessionIds)]), inArray(jobs.status, [...UNFINISHED])))
    const bySession = new Map(rows.map((row) => [row.sessionId, { id: row.id }]))
    return sessionIds.map((sessionId) => bySession.get(sessionId))
  })
  const readTogether = createCoalescer<string, JobRow | undefined>(async (ids) => {
    const rows = await readJobs([...new Set(ids)])
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  })
  /** One statement for all claims with the same attempt number. */
  const claimTogether = createCoalescer<{ id: string; attempt: number; firstStart: boolean }, boolean>((items) =>
    byGroup(
      items,
      (item) => `${item.attempt}:${item.firstStart}`,
      async (group) => {
        const claimed = await claimJobs(group.map((item) => item.id), group[0]!.attempt, group[0]!.firstStart)
        return group.map((item) => claimed.has(item.id))
      },
    ),
  )
  /** One UPDATE … WHERE id IN (…) for all jobs that get the same values. */
  const progressTogether = createCoalescer<{ id: string; fields: { stage?: string; progress: number } }, void>((items) =>
    byGroup(
      items,
      (item) => JSON.stringify(item.fields),
      async (group) => {
        await writeProgress(group.map((item) => item.id), group[0]!.fields)
        return group.map(() => undefined)
      },
    ),
  )
  /** A failed batch is written row by row, so a bad row (text PostgreSQL refuses, say) fails its own job only. */
  const transitionTogether = createCoalescer<{ id: string; change: JobTransition }, boolean>(async (items) => {
    if (items.length > 1) {
      try {
        const moved = await transitionBatch(items)
        return items.map((item) => moved.has(item.id))
      } catch {
        // Row by row below.
      }
    }
    const results: Array<boolean | ItemFailure> = []
    for (const { id, change } of items) results.push(await transitionOne(id, change).catch((error: unknown) => new ItemFailure(error)))
    return results
  })

  /** As for audit batches: one array per column through unnest, 8 parameters however many lines. */
  const insertLogs = (chunk: JobLogRow[]) => {
    const column = <T>(pick: (row: JobLogRow) => T) => sql.param(chunk.map(pick))
    return db.execute(sql`
      insert into job_logs (id, job_id, ts, level, msg, request_id, stage, data)
      select * from unnest(
        ${column((r) => r.id)}::text[], ${column((r) => r.jobId)}::text[], ${column((r) => r.ts.toISOString())}::timestamptz[],
        ${column((r) => r.level)}::text[], ${column((r) => r.msg)}::text[], ${column((r) => r.requestId)}::text[],
        ${column((r) => r.stage)}::text[], ${column((r) => (r.data ? JSON.stringify(r.data) : null))}::jsonb[]
      )`)
  }

  return {
    async insert(row) {
      await db.insert(jobs).values(row)
    },
    async insertMany(rows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await db.insert(jobs).values(rows.slice(i, i + ROWS_PER_INSERT))
    },
    async find(id) {
      return coalesce ? readTogether.add(id) : (await readJobs([id]))[0]
    },
    async findOwned(id, userId) {
      return (await db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.userId, userId))).limit(1))[0]
    },
    async page(userId, after, limit) {
      const where = after ? and(eq(jobs.userId, userId), lt(jobs.id, after)) : eq(jobs.userId, userId)
      return db.select().from(jobs).where(where).orderBy(desc(jobs.id)).limit(limit)
    },
    async everyone(statuses, after, limit) {
      const where = and(statuses.length > 0 ? inArray(jobs.status, [...statuses]) : undefined, after ? lt(jobs.id, after) : undefined)
      return db
        .select({
          id: jobs.id,
          kind: jobs.kind,
          userId: jobs.userId,
          sessionId: jobs.sessionId,
          status: jobs.status,
          stage: jobs.stage,
          progress: jobs.progress,
          requestId: jobs.requestId,
          role: jobs.role,
          attempts: jobs.attempts,
          cancelRequested: jobs.cancelRequested,
          error: jobs.error,
          createdAt: jobs.createdAt,
          startedAt: jobs.startedAt,
          finishedAt: jobs.finishedAt,
          heartbeatAt: jobs.heartbeatAt,
          email: users.email,
        })
        .from(jobs)
        .leftJoin(users, eq(users.id, jobs.userId))
        .where(where)
        .orderBy(desc(jobs.id))
        .limit(limit)
    },
    async statusCounts() {
      const rows = await db.select({ status: jobs.status, n: count() }).from(jobs).groupBy(jobs.status)
      return Object.fromEntries(rows.map((row) => [row.status, row.n]))
    },
    async findByIdempotencyKey(userId, key) {
      return (await db.select().from(jobs).where(and(eq(jobs.userId, userId), eq(jobs.idempotencyKey, key))).limit(1))[0]
    },
    async latestForSession(sessionId) {
      return (await db.select().from(jobs).where(eq(jobs.sessionId, sessionId)).orderBy(desc(jobs.id)).limit(1))[0]
    },
    async activeForSession(sessionId) {
      if (coalesce) return activeTogether.add(sessionId)
      return (await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.sessionId, sessionId), inArray(jobs.status, [...UNFINISHED]))).limit(1))[0]
    },
    async unfinished() {
      return (await db.select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, [...UNFINISHED]))).map((row) => row.id)
    },
    async update(id, fields) {
      await db.update(jobs).set(fields).where(eq(jobs.id, id))
    },
    async claim(id, attempt, firstStart) {
      return coalesce ? claimTogether.add({ id, attempt, firstStart }) : (await claimJobs([id], attempt, firstStart)).has(id)
    },
    async progress(id, fields) {
      if (coalesce) return progressTogether.add({ id, fields })
      await writeProgress([id], fields)
    },
    transition(id, change) {
      return coalesce ? transitionTogether.add({ id, change }) : transitionOne(id, change)
    },
    /** One statement a tick for every job running in the process: stamp, and read the cancel flags back. */
    async heartbeat(ids, at) {
      if (ids.length === 0) return []
      const rows = await db
        .update(jobs)
        .set({ heartbeatAt: at })
        .where(inArray(jobs.id, [...ids]))
        .returning({ id: jobs.id, cancelRequested: jobs.cancelRequested })
      return rows.filter((row) => row.cancelRequested).map((row) => row.id)
    },
    async logs(jobId, after, limit) {
      const where = after ? and(eq(jobLogs.jobId, jobId), gt(jobLogs.id, after)) : eq(jobLogs.jobId, jobId)
      return db.select().from(jobLogs).where(where).orderBy(asc(jobLogs.id)).limit(limit)
    },
    appendLogs(lines) {
      return inChunks(lines, insertLogs)
    },
    async removeForSession(sessionId) {
      await db.delete(jobLogs).where(inArray(jobLogs.jobId, db.select({ id: jobs.id }).from(jobs).where(eq(jobs.sessionId, sessionId))))
      const gone = await db.delete(jobs).where(eq(jobs.sessionId, sessionId)).returning({ id: jobs.id })
      return gone.length
    },
    async removeByIds(ids) {
      if (ids.length === 0) return 0
      await db.delete(jobLogs).where(inArray(jobLogs.jobId, [...ids]))
      const gone = await db.delete(jobs).where(inArray(jobs.id, [...ids])).returning({ id: jobs.id })
      return gone.length
    },
  }
}
