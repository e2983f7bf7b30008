/** The audit store on libsql: the shared queries (./store.portable.ts), and the simplest correct SQL for the rest. */
import { eq, lt, or, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../db/client'
import { sqlitePortable } from '../../db/portable'
import { auditEvents, auditOutbox, auditOutboxLease } from '../../db/schema/sqlite'
import { auditLine } from './json'
import { auditQueries } from './store.portable'
import type { AuditStore } from './types'

/** SQLite caps bound parameters per statement (32,766); 12 columns a row stays well below it. */
const ROWS_PER_INSERT = 1000

export function createSqliteAuditStore(db: SqliteExec): AuditStore {
  // The metadata is stored as text already.
  const shared = auditQueries(sqlitePortable(db), (metadata) => sql`${metadata}`)
  return {
    ...shared,
    async append(rows, { stream = false } = {}) {
      if (rows.length === 0) return
      const write = async (exec: SqliteExec) => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const chunk = rows.slice(i, i + ROWS_PER_INSERT)
          await exec.insert(auditEvents).values(chunk)
          if (stream)
            await exec.insert(auditOutbox).values(chunk.map((row) => ({ eventId: row.id, payload: auditLine(row), createdAt: row.at })))
        }
      }
      // One transaction (a savepoint inside a caller's), so an event never commits without its outbox entry.
      if (stream || rows.length > ROWS_PER_INSERT) await db.transaction((tx) => write(tx))
      else await write(db)
    },
    outbox: {
      ...shared.outbox,
      async acquireLease(name, holder, ttlMs) {
        // libsql is one process (the in-process clock is the only clock); the upsert's WHERE takes the lease only when free.
        const now = new Date()
        const held = await db
          .insert(auditOutboxLease)
          .values({ name, holder, expiresAt: new Date(now.getTime() + ttlMs) })
          .onConflictDoUpdate({
            target: auditOutboxLease.name,
            set: { holder, expiresAt: new Date(now.getTime() + ttlMs) },
            setWhere: or(eq(auditOutboxLease.holder, holder), lt(auditOutboxLease.expiresAt, now)),
          })
          .returning({ holder: auditOutboxLease.holder })
        return held.length === 1
      },
    },
  }
}
