/** Users and role bindings on PostgreSQL: the per-request reads are named prepared statements. */
import { and, asc, count, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import { containsPattern } from '../../../db/like'
import { roleBindings, users } from '../../../db/schema/pg'
import type { BoundRole, IdentityStore } from './store'

const bound = {
  id: roleBindings.id,
  userId: roleBindings.userId,
  role: roleBindings.role,
  createdBy: roleBindings.createdBy,
  createdAt: roleBindings.createdAt,
  email: users.email,
}

/**
 * @example
 * const identity = createPgIdentityStore(db.handle.orm)
 * await identity.rolesOf(userId)
 */
export function createPgIdentityStore(db: PgExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): IdentityStore {
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
  // Outside transactions, requests that resolve users at the same moment (a burst of first-seen users) share one read.
  const byExternalIdTogether = createCoalescer<string, string | undefined>(async (externalIds) => {
    if (externalIds.length === 1) return [(await queries().byExternalId.execute({ externalId: externalIds[0]! }))[0]?.id]
    const rows = await db.select({ id: users.id, externalId: users.externalId }).from(users).where(inArray(users.externalId, [...new Set(externalIds)]))
    const byExternal = new Map(rows.map((row) => [row.externalId, row.id]))
    return externalIds.map((externalId) => byExternal.get(externalId))
  })
  const rolesTogether = createCoalescer<string, string[]>(async (userIds) => {
    if (userIds.length === 1) return [(await queries().roles.execute({ userId: userIds[0]! })).map((row) => row.role)]
    const rows = await db
      .select({ userId: roleBindings.userId, role: roleBindings.role })
      .from(roleBindings)
      .where(inArray(roleBindings.userId, [...new Set(userIds)]))
      .orderBy(asc(roleBindings.role))
    return userIds.map((userId) => rows.filter((row) => row.userId === userId).map((row) => row.role))
  })

  const findBinding = async (exec: PgExec, id: string): Promise<BoundRole | undefined> =>
    (await exec.select(bound).from(roleBindings).innerJoin(users, eq(users.id, roleBindings.userId)).where(eq(roleBindings.id, id)).limit(1))[0]

  return {
    async userIdByExternalId(externalId) {
      if (coalesce) return byExternalIdTogether.add(externalId)
      return (await queries().byExternalId.execute({ externalId }))[0]?.id
    },
    async userIdByEmail(email) {
      const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, email)).orderBy(asc(users.createdAt), asc(users.id)).limit(1)
      return row?.id
    },
    async insertUser(row) {
      // ON CONFLICT waits for a concurrent insert of the same external id to commit, then does nothing.
      return (await db.insert(users).values(row).onConflictDoNothing().returning({ id: users.id })).length > 0
    },
    async insertUsers(rows) {
      if (rows.length === 0) return new Set()
      return new Set((await db.insert(users).values([...rows]).onConflictDoNothing().returning({ id: users.id })).map((row) => row.id))
    },
    async rolesOf(userId) {
      if (coalesce) return rolesTogether.add(userId)
      return (await queries().roles.execute({ userId })).map((row) => row.role)
    },
    async bind(row) {
      return (await db.insert(roleBindings).values(row).onConflictDoNothing().returning({ id: roleBindings.id })).length > 0
    },
    async listBindings(filters, after, limit) {
      const user = filters.user?.trim()
      const role = filters.role?.trim()
      return db
        .select(bound)
        .from(roleBindings)
        .innerJoin(users, eq(users.id, roleBindings.userId))
        .where(
          and(
            user ? sql`lower(${users.email}) like ${containsPattern(user)} escape '\\'` : undefined,
            role ? eq(roleBindings.role, role) : undefined,
            after ? lt(roleBindings.id, after) : undefined,
          ),
        )
        .orderBy(desc(roleBindings.id))
        .limit(limit)
    },
    async unbind(id, keepLast) {
      // Two admins removing two different admin bindings at once could each see the other's still
      // standing and leave none: a transaction-scoped advisory lock makes such removals take turns
      // (inside a caller's transaction this is a savepoint, and the lock lasts until that commits).
      return db.transaction(async (tx) => {
        const found = await findBinding(tx, id)
        if (!found) return undefined
        if (found.role === keepLast) {
          await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`role_bindings:${keepLast}`}))`)
          const [held] = await tx.select({ n: count() }).from(roleBindings).where(eq(roleBindings.role, keepLast))
          if ((held?.n ?? 0) <= 1) return { refused: found }
        }
        const gone = await tx.delete(roleBindings).where(eq(roleBindings.id, id)).returning({ id: roleBindings.id })
        return gone.length > 0 ? { removed: found } : undefined
      })
    },
  }
}
