/** Revoked sign-ins on PostgreSQL: the per-request read is a named prepared statement. */
import { eq, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { signInRevocations } from '../../../db/schema/pg'
import type { SignInStore } from './store'

/**
 * @example
 * const signIns = createPgSignInStore(db.handle.orm)
 * await signIns.revokedAt(subject)
 */
export function createPgSignInStore(db: PgExec): SignInStore {
  let bySubject: ReturnType<typeof prepare> | null = null
  const prepare = () =>
    db
      .select({ at: signInRevocations.revokedAt })
      .from(signInRevocations)
      .where(eq(signInRevocations.subject, sql.placeholder('subject')))
      .limit(1)
      .prepare('sign_in_revocations_by_subject')
  return {
    async revoke(subject, at) {
      await db
        .insert(signInRevocations)
        .values({ subject, revokedAt: at })
        .onConflictDoUpdate({ target: signInRevocations.subject, set: { revokedAt: sql`greatest(${signInRevocations.revokedAt}, excluded.revoked_at)` } })
    },
    async revokedAt(subject) {
      const [row] = await (bySubject ??= prepare()).execute({ subject })
      return row?.at ?? null
    },
  }
}
