/** Jobs on libsql: the simplest correct SQL. */
import { and, asc, desc, eq, gt, inArray } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { jobLogs, jobs } from '../../../db/schema/sqlite'
import type { JobStore } from './store'

const ACTIVE = ['queued', 'running']

export function createSqliteJobStore(db: SqliteExec): JobStore {
  return {
    async insert(row) {
      await db.insert(jobs).values(row)
    },
    async findOwned(id, userId) {
      return (await db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.userId, userId))).limit(1))[0]
    },
    async findByIdempotencyKey(userId, key) {
      return (await db.select().from(jobs).where(and(eq(jobs.userId, userId), eq(jobs.idempotencyKey, key))).limit(1))[0]
    },
    async latestForSession(sessionId) {
      return (await db.select().from(jobs).where(eq(jobs.sessionId, sessionId)).orderBy(desc(jobs.id)).limit(1))[0]
    },
    async activeForSession(sessionId) {
      return (await db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.sessionId, sessionId), inArray(jobs.status, ACTIVE))).limit(1))[0]
    },
    async update(id, fields) {
      await db.update(jobs).set(fields).where(eq(jobs.id, id))
    },
    async logs(jobId, after, limit) {
      const where = after ? and(eq(jobLogs.jobId, jobId), gt(jobLogs.id, after)) : eq(jobLogs.jobId, jobId)
      return db.select().from(jobLogs).where(where).orderBy(asc(jobLogs.id)).limit(limit)
    },
    async removeForSession(sessionId) {
      await db.delete(jobLogs).where(inArray(jobLogs.jobId, db.select({ id: jobs.id }).from(jobs).where(eq(jobs.sessionId, sessionId))))
      const gone = await db.delete(jobs).where(eq(jobs.sessionId, sessionId)).returning({ id: jobs.id })
      return gone.length
    },
  }
}
