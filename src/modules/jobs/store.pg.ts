/** Jobs on PostgreSQL. */
import { eq, inArray } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { jobLogs, jobs } from '../../../db/schema/pg'
import type { JobStore } from './store'

export function createPgJobStore(db: PgExec): JobStore {
  return {
    async removeForSession(sessionId) {
      await db.delete(jobLogs).where(inArray(jobLogs.jobId, db.select({ id: jobs.id }).from(jobs).where(eq(jobs.sessionId, sessionId))))
      const gone = await db.delete(jobs).where(eq(jobs.sessionId, sessionId)).returning({ id: jobs.id })
      return gone.length
    },
  }
}
