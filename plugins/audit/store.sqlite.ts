/** The audit store on libsql: the simplest correct SQL. */
import { and, asc, count, desc, eq, gt, inArray, lt, min, or, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../db/client'
import { auditEvents, auditOutbox, auditOutboxLease } from '../../db/schema/sqlite'
import { auditLine } from './json'
import { auditWhere, escapeLike } from './query'
import type { AuditStore } from './types'

/** SQLite caps bound parameters per statement (32,766); 12 columns a row stays well below it. */
const ROWS_PER_INSERT = 1000

export function createSqliteAuditStore(db: SqliteExec): AuditStore {
  return {
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
    async deleteBefore(before, limit) {
      const batch = db.select({ id: auditEvents.id }).from(auditEvents).where(lt(auditEvents.at, before)).limit(limit)
      const gone = await db.delete(auditEvents).where(inArray(auditEvents.id, batch)).returning({ id: auditEvents.id })
      return gone.length
    },
    list(query) {
      return db.select().from(auditEvents).where(auditWhere(auditEvents, query)).orderBy(desc(auditEvents.id)).limit(query.limit)
    },
    mentioning(subject, after, limit) {
      const like = (text: string) => `%${escapeLike(text)}%`
      const metadata = sql`${auditEvents.metadata}`
      const names = or(
        eq(auditEvents.actorId, subject.userId),
        eq(auditEvents.actor, subject.email),
        sql`${auditEvents.target} like ${like(subject.userId)} escape '\\'`,
        sql`${metadata} like ${like(subject.userId)} escape '\\'`,
        sql`lower(${metadata}) like ${like(subject.email.toLowerCase())} escape '\\'`,
      )
      return db
        .select()
        .from(auditEvents)
        .where(after === null ? names : and(gt(auditEvents.id, after), names))
        .orderBy(asc(auditEvents.id))
        .limit(limit)
    },
    async rewrite(rows) {
      if (rows.length === 0) return
      // Rare (erasures) and bounded by the caller's batch: one statement a row, all in one transaction.
      await db.transaction(async (tx) => {
        for (const row of rows) {
          await tx
            .update(auditEvents)
            .set({ actorId: row.actorId, actor: row.actor, target: row.target, ip: row.ip, metadata: row.metadata })
            .where(eq(auditEvents.id, row.id))
          await tx.update(auditOutbox).set({ payload: auditLine(row) }).where(eq(auditOutbox.eventId, row.id))
        }
      })
    },
    outbox: {
      take(limit) {
        return db.select().from(auditOutbox).orderBy(asc(auditOutbox.seq)).limit(limit)
      },
      async remove(seqs) {
        if (seqs.length > 0) await db.delete(auditOutbox).where(inArray(auditOutbox.seq, [...seqs]))
      },
      async backlog() {
        const [row] = await db.select({ count: count(), oldest: min(auditOutbox.createdAt) }).from(auditOutbox)
        return { count: row?.count ?? 0, oldestAt: row?.oldest ?? null }
      },
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
      async releaseLease(name, holder) {
        await db.delete(auditOutboxLease).where(and(eq(auditOutboxLease.name, name), eq(auditOutboxLease.holder, holder)))
      },
    },
  }
}
