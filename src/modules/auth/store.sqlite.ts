/** Revoked sign-ins on libsql. */
import { eq, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { signInRevocations } from '../../../db/schema/sqlite'
import type { SignInStore } from './store'

/**
 * @example
 * const signIns = createSqliteSignInStore(db.handle.orm)
 * await signIns.revoke(subject, new Date())
 */
export function createSqliteSignInStore(db: SqliteExec): SignInStore {
  return {
    async revoke(subject, at) {
      await db
        .insert(signInRevocations)
        .values({ subject, revokedAt: at })
        .onConflictDoUpdate({ target: signInRevocations.subject, set: { revokedAt: sql`max(${signInRevocations.revokedAt}, excluded.revoked_at)` } })
    },
    async revokedAt(subject) {
      const [row] = await db.select({ at: signInRevocations.revokedAt }).from(signInRevocations).where(eq(signInRevocations.subject, subject)).limit(1)
      return row?.at ?? null
    },
  }
}
