/** Payments and entitlements on libsql: the shared queries (./store.portable.ts) and the prepared read of a user's palettes. */
import { eq, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import { entitlements } from '../../../db/schema/sqlite'
import type { PaymentStore } from './store'
import { paymentQueries } from './store.portable'

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
    ...paymentQueries(sqlitePortable(db)),
    async unlockedPalettes(userId) {
      const rows = await queries().unlocked.all({ userId })
      return rows.map((row) => row.paletteId)
    },
  }
}
