/** Payments and entitlements on PostgreSQL: the shared queries (./store.portable.ts) and the prepared read of a user's palettes. */
import { eq, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import { entitlements } from '../../../db/schema/pg'
import type { PaymentStore } from './store'
import { paymentQueries } from './store.portable'

/**
 * @example
 * const store = createPgPaymentStore(db.handle.orm)
 * if (await store.grant(row)) console.log('unlocked')
 */
export function createPgPaymentStore(db: PgExec): PaymentStore {
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => ({
    unlocked: db
      .select({ paletteId: entitlements.paletteId })
      .from(entitlements)
      .where(eq(entitlements.userId, sql.placeholder('userId')))
      .prepare('entitlements_of_user'),
  })
  const queries = () => (prepared ??= prepare())

  return {
    ...paymentQueries(pgPortable(db)),
    async unlockedPalettes(userId) {
      const rows = await queries().unlocked.execute({ userId })
      return rows.map((row) => row.paletteId)
    },
  }
}
