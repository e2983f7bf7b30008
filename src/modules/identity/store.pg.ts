/**
 * Users and role bindings on PostgreSQL: the shared queries (./store.portable.ts),
 * the per-request reads as named prepared statements, and the lock that makes
 * removals of a role's bindings take turns.
 */
import { asc, eq, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import { pgPortable } from '../../../db/portable'
import { roleBindings, users } from '../../../db/schema/pg'
import type { IdentityStore } from './store'
import { identityQueries, readsTogether, type LockRole } from './store.portable'

/**
 * Two admins removing two different admin bindings at once could each see the other's still
 * standing and leave none: a transaction-scoped advisory lock makes such removals take turns
 * (inside a caller's transaction this is a savepoint, and the lock lasts until that commits).
 */
const lockRole: LockRole = async (tx, role) => {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`role_bindings:${role}`}))`)
}

/**
 * @example
 * const identity = createPgIdentityStore(db.handle.orm)
 * await identity.rolesOf(userId)
 */
export function createPgIdentityStore(db: PgExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): IdentityStore {
  const portable = pgPortable(db)
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => ({
    byExternalId: db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.externalId, sql.placeholder('externalId')))
      .limit(1)
      .prepare('identity_user_by_external_id'),
    roles: db
      .select({ role: roleBindings.role })
      .from(roleBindings)
      .where(eq(roleBindings.userId, sql.placeholder('userId')))
      .orderBy(asc(roleBindings.role))
      .prepare('identity_roles_of'),
  })
  const queries = () => (prepared ??= prepare())
  // Outside transactions, requests that resolve users at the same moment (a burst of first-seen users) share one read;
  // a lone caller takes the prepared statement.
  const together = readsTogether(portable)
  const byExternalIdTogether = createCoalescer<string, string | undefined>(async (externalIds) => {
    if (externalIds.length === 1) return [(await queries().byExternalId.execute({ externalId: externalIds[0]! }))[0]?.id]
    return together.userIds(externalIds)
  })
  const rolesTogether = createCoalescer<string, string[]>(async (userIds) => {
    if (userIds.length === 1) return [(await queries().roles.execute({ userId: userIds[0]! })).map((row) => row.role)]
    return together.roles(userIds)
  })

  return {
    ...identityQueries(portable, lockRole),
    async userIdByExternalId(externalId) {
      if (coalesce) return byExternalIdTogether.add(externalId)
      return (await queries().byExternalId.execute({ externalId }))[0]?.id
    },
    async rolesOf(userId) {
      if (coalesce) return rolesTogether.add(userId)
      return (await queries().roles.execute({ userId })).map((row) => row.role)
    },
  }
}
