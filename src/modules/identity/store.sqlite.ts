/**
 * Users and role bindings on libsql: the shared queries (./store.portable.ts)
 * and the per-request reads, prepared once.
 */
import { asc, eq, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import { sqlitePortable } from '../../../db/portable'
import { roleBindings, users } from '../../../db/schema/sqlite'
import type { IdentityStore } from './store'
import { identityQueries, readsTogether, type LockRole } from './store.portable'

/**
 * Nothing to take: a transaction (a savepoint inside one) holds the process's write turn from the count
 * to the delete (db/client.ts serialises libsql transactions), so two removals cannot both see a second one.
 */
const lockRole: LockRole = async () => {}

/**
 * @example
 * const identity = createSqliteIdentityStore(db.handle.orm)
 * await identity.rolesOf(userId)
 */
export function createSqliteIdentityStore(db: SqliteExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): IdentityStore {
  const portable = sqlitePortable(db)
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => ({
    byExternalId: db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.externalId, sql.placeholder('externalId')))
      .limit(1)
      .prepare(),
    roles: db
      .select({ role: roleBindings.role })
      .from(roleBindings)
      .where(eq(roleBindings.userId, sql.placeholder('userId')))
      .orderBy(asc(roleBindings.role))
      .prepare(),
  })
  const queries = () => (prepared ??= prepare())
  // Outside transactions, requests that resolve users at the same moment (a burst of first-seen users) share one read.
  const together = readsTogether(portable)
  const byExternalIdTogether = createCoalescer<string, string | undefined>((externalIds) => together.userIds(externalIds), { wait: 'turn' })
  const rolesTogether = createCoalescer<string, string[]>((userIds) => together.roles(userIds), { wait: 'turn' })

  return {
    ...identityQueries(portable, lockRole),
    async userIdByExternalId(externalId) {
      if (coalesce) return byExternalIdTogether.add(externalId)
      return (await queries().byExternalId.all({ externalId }))[0]?.id
    },
    async rolesOf(userId) {
      if (coalesce) return rolesTogether.add(userId)
      return (await queries().roles.all({ userId })).map((row) => row.role)
    },
  }
}
