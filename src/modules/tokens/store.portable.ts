/**
 * Personal access tokens, on either dialect: the same queries run on both
 * (db/portable.ts). Only `byHash`, the per-request lookup (prepared and shared
 * differently per dialect), is in store.pg.ts and store.sqlite.ts.
 */
import { and, count, desc, eq, isNull, lt } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import type { TokenStore } from './store'

/**
 * @example
 * const tokens = { ...tokenQueries(pgPortable(db.handle.orm)), byHash }
 */
export function tokenQueries({ db, t }: Portable): Omit<TokenStore, 'byHash'> {
  const { accessTokens } = t
  return {
    async insert(row) {
      await db.insert(accessTokens).values(row)
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
