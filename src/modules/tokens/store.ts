/**
 * How personal access tokens are kept: by the SHA-256 of the token, never the
 * token itself. The contract suite is tests/unit/stores/token-store.test.ts
 * (libsql and PostgreSQL).
 */
import type { AccessTokenRow, UserRow } from '../../../db/schema'

/** A token found by its hash, with what the authenticator needs of its owner. */
export interface TokenWithOwner {
  token: AccessTokenRow
  owner: Pick<UserRow, 'externalId' | 'email'>
}

export interface TokenStore {
  insert(row: AccessTokenRow): Promise<void>
  /** The unrevoked token with this hash and its owner (expired ones too: the caller says why it refuses). */
  byHash(tokenHash: string): Promise<TokenWithOwner | undefined>
  /** The owner's unrevoked tokens (expired included), newest first: `limit` with ids below `after` (from the newest when null). */
  listActive(userId: string, after: string | null, limit: number): Promise<AccessTokenRow[]>
  /** How many unrevoked tokens the owner holds (expired included). */
  countActive(userId: string): Promise<number>
  /** Revokes the owner's unrevoked token; the row as revoked, or undefined (none, another owner's, or already revoked). */
  revoke(id: string, userId: string, at: Date): Promise<AccessTokenRow | undefined>
  /** Records a use. */
  touch(id: string, at: Date): Promise<void>
}
