/**
 * Personal access tokens on libsql: the shared queries (./store.portable.ts)
 * and the per-request lookup. Every token-authenticated request looks its
 * token up (no cache: a revocation must hold on the next request), so on the
 * database itself concurrent lookups share one statement (db/coalesce.ts); in a
 * transaction a prepared one runs. Measured through app.handle on GET /api/v1/me
 * at concurrency 50 on a busy 2-core machine: ~10–20k req/s with a token against
 * ~24k with the cached X-User-Id path (~1.5k without sharing); one lone request
 * waits one round trip (~0.9 ms).
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { createCoalescer } from '../../../db/coalesce'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import { accessTokens, users } from '../../../db/schema/sqlite'
import type { TokenStore, TokenWithOwner } from './store'
import { tokenQueries } from './store.portable'

/**
 * @example
 * const tokens = createSqliteTokenStore(db.handle.orm, true)
 * const found = await tokens.byHash(sha256hex(token))
 */
export function createSqliteTokenStore(db: SqliteExec, root = false): TokenStore {
  // `root`: the database itself, where lookups may be shared; never inside a transaction.
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
  const lookup = async (hashes: string[]): Promise<Array<TokenWithOwner | undefined>> => {
    const unique = [...new Set(hashes)]
    const rows = await db
      .select({ token: accessTokens, owner: { externalId: users.externalId, email: users.email } })
      .from(accessTokens)
      .innerJoin(users, eq(users.id, accessTokens.userId))
      .where(and(inArray(accessTokens.tokenHash, unique), isNull(accessTokens.revokedAt)))
    const byHash = new Map(rows.map((row) => [row.token.tokenHash, row]))
    return hashes.map((hash) => byHash.get(hash))
  }
  // libsql runs one statement at a time anyway: one in flight, the rest gather behind it.
  const coalesced = createCoalescer(lookup, { maxBatch: 100, maxInFlight: 1 })
  const queries = () => (prepared ??= prepare())

  return {
    ...tokenQueries(sqlitePortable(db)),
    async byHash(tokenHash) {
      return root ? coalesced.add(tokenHash) : (await queries().byHash.all({ hash: tokenHash }))[0]
    },
  }
}
