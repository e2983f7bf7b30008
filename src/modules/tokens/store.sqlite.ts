/** Personal access tokens on libsql: the per-request lookup is prepared once. */
import { and, count, desc, eq, isNull, lt, sql } from 'drizzle-orm'
import type { SqliteExec } from '../../../db/client'
import { accessTokens, users } from '../../../db/schema/sqlite'
import type { TokenStore } from './store'

/**
 * @example
 * const tokens = createSqliteTokenStore(db.handle.orm)
 * const found = await tokens.byHash(sha256hex(token))
 */
export function createSqliteTokenStore(db: SqliteExec): TokenStore {
  let prepared: ReturnType<typeof prepare> | null = null
  const prepare = () => ({
    byHash: db
      .select({ token: accessTokens, owner: { externalId: users.externalId, email: users.email } })
      .from(accessTokens)
      .innerJoin(users, eq(users.id, accessTokens.userId))
      .where(and(eq(accessTokens.tokenHash, sql.placeholder('hash')), isNull(accessTokens.revokedAt)))
      .limit(1)
      .prepare(),
  })
  const queries = () => (prepared ??= prepare())

  return {
    async insert(row) {
      await db.insert(accessTokens).values(row)
    },
    async byHash(tokenHash) {
      return (await queries().byHash.all({ hash: tokenHash }))[0]
    },
    listActive(userId, after, limit) {
      return db
        .select()
        .from(accessTokens)
        .where(and(eq(accessTokens.userId, userId), isNull(accessTokens.revokedAt), after ? lt(accessTokens.id, after) : undefined))
        .orderBy(desc(accessTokens.id))
        .limit(limit)
    },
    async countActive(userId) {
      const [row] = await db
        .select({ n: count() })
        .from(accessTokens)
        .where(and(eq(accessTokens.userId, userId), isNull(accessTokens.revokedAt)))
      return row?.n ?? 0
    },
    async revoke(id, userId, at) {
      const [row] = await db
        .update(accessTokens)
        .set({ revokedAt: at })
        .where(and(eq(accessTokens.id, id), eq(accessTokens.userId, userId), isNull(accessTokens.revokedAt)))
        .returning()
      return row
    },
    async touch(id, at) {
      await db.update(accessTokens).set({ lastUsedAt: at }).where(eq(accessTokens.id, id))
    },
  }
}
