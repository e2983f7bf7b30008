/**
 * Users and role bindings, on either dialect: the same queries run on both
 * (db/portable.ts). The per-request reads (`userIdByExternalId`, `rolesOf`:
 * prepared and shared differently per dialect) are in store.pg.ts and
 * store.sqlite.ts, and so is how `unbind` makes removals take turns; the reads
 * they share between callers are here (`readsTogether`).
 */
import { and, asc, count, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { containsPattern } from '../../../db/like'
import type { Portable } from '../../../db/portable'
import type { BoundRole, IdentityStore } from './store'

/**
 * Held until `tx` ends, before `unbind` counts who still holds `role`: removals
 * of that role's bindings take turns, so two cannot each see the other's standing.
 */
export type LockRole = (tx: PgExec, role: string) => Promise<void>

/**
 * @example
 * const identity = { ...identityQueries(pgPortable(db), lockRole), userIdByExternalId, rolesOf }
 */
export function identityQueries({ db, t }: Portable, lockRole: LockRole): Omit<IdentityStore, 'userIdByExternalId' | 'rolesOf'> {
  const { roleBindings, users } = t
  const bound = {
    id: roleBindings.id,
    userId: roleBindings.userId,
    role: roleBindings.role,
    createdBy: roleBindings.createdBy,
    createdAt: roleBindings.createdAt,
    email: users.email,
  }
  const findBinding = async (exec: PgExec, id: string): Promise<BoundRole | undefined> =>
    (await exec.select(bound).from(roleBindings).innerJoin(users, eq(users.id, roleBindings.userId)).where(eq(roleBindings.id, id)).limit(1))[0]

  return {
    async userIdByEmail(email) {
      const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, email)).orderBy(asc(users.createdAt), asc(users.id)).limit(1)
      return row?.id
    },
    async insertUser(row) {
      // On PostgreSQL, ON CONFLICT waits for a concurrent insert of the same external id to commit, then does nothing.
      return (await db.insert(users).values(row).onConflictDoNothing().returning({ id: users.id })).length > 0
    },
    async insertUsers(rows) {
      if (rows.length === 0) return new Set()
      return new Set((await db.insert(users).values([...rows]).onConflictDoNothing().returning({ id: users.id })).map((row) => row.id))
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
      return db.transaction(async (tx) => {
        const found = await findBinding(tx, id)
        if (!found) return undefined
        if (found.role === keepLast) {
          await lockRole(tx, keepLast)
          const [held] = await tx.select({ n: count() }).from(roleBindings).where(eq(roleBindings.role, keepLast))
          if ((held?.n ?? 0) <= 1) return { refused: found }
        }
        const gone = await tx.delete(roleBindings).where(eq(roleBindings.id, id)).returning({ id: roleBindings.id })
        return gone.length > 0 ? { removed: found } : undefined
      })
    },
  }
}

/**
 * The reads that answer many callers in one statement (the dialects' coalescers
 * send them): each caller's answer, in the callers' order.
 * @example
 * const together = readsTogether(pgPortable(db))
 * const [a, b] = await together.userIds(['ext-a', 'ext-b'])
 */
export function readsTogether({ db, t }: Portable) {
  const { roleBindings, users } = t
  return {
    async userIds(externalIds: string[]): Promise<Array<string | undefined>> {
      const rows = await db.select({ id: users.id, externalId: users.externalId }).from(users).where(inArray(users.externalId, [...new Set(externalIds)]))
      const byExternal = new Map(rows.map((row) => [row.externalId, row.id]))
      return externalIds.map((externalId) => byExternal.get(externalId))
    },
    async roles(userIds: string[]): Promise<string[][]> {
      const rows = await db
        .select({ userId: roleBindings.userId, role: roleBindings.role })
        .from(roleBindings)
        .where(inArray(roleBindings.userId, [...new Set(userIds)]))
        .orderBy(asc(roleBindings.role))
      return userIds.map((userId) => rows.filter((row) => row.userId === userId).map((row) => row.role))
    },
  }
}
