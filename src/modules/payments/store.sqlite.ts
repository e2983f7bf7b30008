/** Payments and entitlements on libsql. */
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { entitlements, paymentEvents, payments } from '../../../db/schema/sqlite'
import type { PaymentStore } from './store'

/** Where each target status may be reached from: a success is final. */
const FROM = { succeeded: ['pending', 'failed'], failed: ['pending'] } as const

/**
 * @example
 * const store = createSqlitePaymentStore(db.handle.orm)
 * if (await store.grant(row)) console.log('unlocked')
 */
export function createSqlitePaymentStore(db: SqliteExec): PaymentStore {
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => ({
    unlocked: db
      .select({ paletteId: entitlements.paletteId })
      .from(entitlements)
      .where(eq(entitlements.userId, sql.placeholder('userId')))
      .prepare(),
  })
  const queries = () => (prepared ??= prepare())

  return {
    async insertPayment(row) {
      await db.insert(payments).values(row)
    },
    async payment(id) {
      return (await db.select().from(payments).where(eq(payments.id, id)).limit(1))[0]
    },
    async settle(id, to, providerRef, at) {
      const [row] = await db
        .update(payments)
        .set({ status: to, updatedAt: at, ...(providerRef ? { providerRef } : {}) })
        .where(and(eq(payments.id, id), inArray(payments.status, [...FROM[to]])))
        .returning()
      return row
    },
    async recordEvent(row) {
      return (await db.insert(paymentEvents).values(row).onConflictDoNothing().returning({ id: paymentEvents.id })).length > 0
    },
    async grant(row) {
      return (await db.insert(entitlements).values(row).onConflictDoNothing().returning({ id: entitlements.id })).length > 0
    },
    async entitlement(userId, paletteId) {
      return (
        await db
          .select()
          .from(entitlements)
          .where(and(eq(entitlements.userId, userId), eq(entitlements.paletteId, paletteId)))
          .limit(1)
      )[0]
    },
    async unlockedPalettes(userId) {
      const rows = await queries().unlocked.all({ userId })
      return rows.map((row) => row.paletteId)
    },
  }
}
