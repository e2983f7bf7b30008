/**
 * The audit store, on either dialect: the same queries run on both
 * (db/portable.ts). What differs is in store.pg.ts and store.sqlite.ts:
 * `append` (a json_to_recordset statement on PostgreSQL, chunked inserts on
 * libsql), the outbox lease (the database's clock on PostgreSQL) and how the
 * metadata reads as text (`metadataText`).
 */
import { and, asc, count, desc, eq, gt, inArray, lt, min, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm'
import type { Portable } from '../../db/portable'
import { auditLine } from './json'
import { auditWhere, escapeLike } from './query'
import type { AuditOutbox, AuditStore } from './types'

type SharedAuditStore = Omit<AuditStore, 'append' | 'outbox'> & { outbox: Omit<AuditOutbox, 'acquireLease'> }

/**
 * `metadataText`: the metadata column as text, for LIKE (jsonb is cast on
 * PostgreSQL; libsql stores it as text).
 * @example
 * const shared = auditQueries(pgPortable(db), (metadata) => sql`${metadata}::text`)
 * const audit = { ...shared, append, outbox: { ...shared.outbox, acquireLease } }
 */
export function auditQueries({ db, t }: Portable, metadataText: (metadata: SQLWrapper) => SQL): SharedAuditStore {
  const { auditEvents, auditOutbox, auditOutboxLease } = t
  return {
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
      const metadata = metadataText(auditEvents.metadata)
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
      async releaseLease(name, holder) {
        await db.delete(auditOutboxLease).where(and(eq(auditOutboxLease.name, name), eq(auditOutboxLease.holder, holder)))
      },
    },
  }
}
