/**
 * Payments and entitlements, on either dialect: the same queries run on both
 * (db/portable.ts). Only `unlockedPalettes`, a prepared statement, differs; it
 * is in store.pg.ts and store.sqlite.ts.
 */
import { and, eq, inArray } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import type { PaymentStore } from './store'

/** Where each target status may be reached from: a success is final. */
const FROM = { succeeded: ['pending', 'failed'], failed: ['pending'] } as const

/**
 * @example
 * const store = { ...paymentQueries(pgPortable(db.handle.orm)), unlockedPalettes }
 * if (await store.grant(row)) console.log('unlocked')
 */
export function paymentQueries({ db, t }: Portable): Omit<PaymentStore, 'unlockedPalettes'> {
  const { entitlements, paymentEvents, payments } = t
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
  }
}
