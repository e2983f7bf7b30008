/** Jobs on libsql: the simplest correct SQL. */
import { eq, inArray } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { jobLogs, jobs } from '../../../db/schema/sqlite'
import type { JobStore } from './store'

export function createSqliteJobStore(db: SqliteExec): JobStore {
  return {
    async removeForSession(sessionId) {
      await db.delete(jobLogs).where(inArray(jobLogs.jobId, db.select({ id: jobs.id }).from(jobs).where(eq(jobs.sessionId, sessionId))))
      const gone = await db.delete(jobs).where(eq(jobs.sessionId, sessionId)).returning({ id: jobs.id })
      return gone.length
    },
  }
}
