/** Jobs on libsql: the simplest correct SQL. */
import { and, asc, count, desc, eq, gt, inArray, lt } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import type { JobRow } from '../../../db/schema'
import { byGroup, createCoalescer } from '../../../db/coalesce'
import { jobLogs, jobs, users } from '../../../db/schema/sqlite'
import { inChunks, ROWS_PER_INSERT, transitionFields, UNFINISHED, type JobStore } from './store'

const ACTIVE = [...UNFINISHED]

export function createSqliteJobStore(db: SqliteExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): JobStore {
  /** Job reads and running-job checks of one turn (a burst of runs, the councils they start) share a statement. */
  const readTogether = createCoalescer<string, JobRow | undefined>(
    async (ids) => {
      const rows = await db.select().from(jobs).where(inArray(jobs.id, [...new Set(ids)]))
      const byId = new Map(rows.map((row) => [row.id, row]))
      return ids.map((id) => byId.get(id))
    },
    { wait: 'turn' },
  )
  const activeTogether = createCoalescer<string, { id: string } | undefined>(
    async (sessionIds) => {
      const rows = await db
        .select({ id: jobs.id, sessionId: jobs.sessionId })
        .from(jobs)
        .where(and(inArray(jobs.sessionId, [...new Set(sessionIds)]), inArray(jobs.status, ACTIVE)))
      const bySession = new Map(rows.map((row) => [row.sessionId, { id: row.id }]))
      return sessionIds.map((sessionId) => bySession.get(sessionId))
    },
    { wait: 'turn' },
  )
  /** Progress of jobs that move together (a burst of councils reaching a stage): one UPDATE per distinct value, per turn. */
  const progressTogether = createCoalescer<{ id: string; fields: { stage?: string; progress: number } }, void>(
    (items) =>
      byGroup(
        items,
        (item) => JSON.stringify(item.fields),
        async (group) => {
          await db.update(jobs).set(group[0]!.fields).where(inArray(jobs.id, group.map((item) => item.id)))
          return group.map(() => undefined)
        },
      ),
    { wait: 'turn' },
  )
  return {
    async insert(row) {
      await db.insert(jobs).values(row)
    },
    async insertMany(rows) {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) await db.insert(jobs).values(rows.slice(i, i + ROWS_PER_INSERT))
    },
    async find(id) {
      if (coalesce) return readTogether.add(id)
      return (await db.select().from(jobs).where(eq(jobs.id, id)).limit(1))[0]
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
      return (await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.sessionId, sessionId), inArray(jobs.status, ACTIVE))).limit(1))[0]
    },
    async unfinished() {
      return (await db.select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ACTIVE))).map((row) => row.id)
    },
    async update(id, fields) {
      await db.update(jobs).set(fields).where(eq(jobs.id, id))
    },
    async claim(id, attempt, firstStart) {
      const now = new Date()
      const rows = await db
        .update(jobs)
        .set({ status: 'running', attempts: attempt, heartbeatAt: now, error: null, ...(firstStart ? { startedAt: now } : {}) })
        .where(and(eq(jobs.id, id), inArray(jobs.status, ACTIVE), eq(jobs.cancelRequested, false)))
        .returning({ id: jobs.id })
      return rows.length > 0
    },
    async progress(id, fields) {
      if (coalesce) return progressTogether.add({ id, fields })
      await db.update(jobs).set(fields).where(eq(jobs.id, id))
    },
    async transition(id, change) {
      const rows = await db
        .update(jobs)
        .set(transitionFields(change))
        .where(and(eq(jobs.id, id), inArray(jobs.status, ACTIVE)))
        .returning({ id: jobs.id })
      return rows.length > 0
    },
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
      return inChunks(lines, (chunk) => db.insert(jobLogs).values(chunk))
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
