/** The audit store on libsql: the simplest correct SQL. */
import { inArray, lt } from 'drizzle-orm'
import type { SqliteExec } from '../../db/client'
import { auditEvents } from '../../db/schema/sqlite'
import type { AuditStore } from './types'

export function createSqliteAuditStore(db: SqliteExec): AuditStore {
  return {
    async append(rows) {
      if (rows.length > 0) await db.insert(auditEvents).values([...rows])
    },
    async deleteBefore(before, limit) {
      const batch = db.select({ id: auditEvents.id }).from(auditEvents).where(lt(auditEvents.at, before)).limit(limit)
      const gone = await db.delete(auditEvents).where(inArray(auditEvents.id, batch)).returning({ id: auditEvents.id })
      return gone.length
    },
  }
}
