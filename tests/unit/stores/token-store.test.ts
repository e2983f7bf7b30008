/** The token store's contract, on libsql and on PostgreSQL: lookups by hash, owner-only revocation, keyset lists. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { AccessTokenRow, UserRow } from '../../../db/schema'
import { eachDialect, type TestDatabase } from '../../helpers/databases'

const token = (userId: string, fields: Partial<AccessTokenRow> = {}): AccessTokenRow => {
  const now = new Date()
  return {
    id: newId(),
    userId,
    name: 'CI «export»',
    tokenHash: crypto.randomUUID().replaceAll('-', '').repeat(2),
    prefix: 'acpat_abcd',
    createdAt: now,
    expiresAt: new Date(now.getTime() + 86_400_000),
    lastUsedAt: null,
    revokedAt: null,
    ...fields,
  }
}

async function user(db: TestDatabase): Promise<UserRow> {
  const email = `owner-${newId()}@example.com`
  const row: UserRow = { id: newId(), externalId: email, email, displayName: null, createdAt: new Date(), lastSeenAt: null, deletedAt: null }
  await db.stores.identity.insertUser(row)
  return row
}

eachDialect('token store', (use) => {
  test('byHash finds the token with its owner; an unknown hash is undefined', async () => {
    const owner = await user(use())
    const { stores } = use()
    const row = token(owner.id)
    await stores.tokens.insert(row)
    expect(await stores.tokens.byHash(row.tokenHash)).toEqual({ token: row, owner: { externalId: owner.externalId, email: owner.email } })
    expect(await stores.tokens.byHash('0'.repeat(64))).toBeUndefined()
  })

  test('concurrent lookups each get their own answer', async () => {
    const owner = await user(use())
    const { stores } = use()
    const rows = [token(owner.id), token(owner.id), token(owner.id)]
    for (const row of rows) await stores.tokens.insert(row)
    const hashes = [...rows.map((row) => row.tokenHash), 'f'.repeat(64), rows[0]!.tokenHash]
    const found = await Promise.all(hashes.map((hash) => stores.tokens.byHash(hash)))
    expect(found.map((entry) => entry?.token.id)).toEqual([rows[0]!.id, rows[1]!.id, rows[2]!.id, undefined, rows[0]!.id])
  })

  test('expired tokens are still found (the caller says why it refuses); revoked ones are not', async () => {
    const owner = await user(use())
    const { stores } = use()
    const expired = token(owner.id, { expiresAt: new Date(Date.now() - 1000) })
    await stores.tokens.insert(expired)
    expect((await stores.tokens.byHash(expired.tokenHash))?.token.id).toBe(expired.id)
    const revoked = await stores.tokens.revoke(expired.id, owner.id, new Date())
    expect(revoked?.revokedAt).toBeInstanceOf(Date)
    expect(await stores.tokens.byHash(expired.tokenHash)).toBeUndefined()
  })

  test('revoke: the owner only, once', async () => {
    const owner = await user(use())
    const { stores } = use()
    const row = token(owner.id)
    await stores.tokens.insert(row)
    expect(await stores.tokens.revoke(row.id, 'someone-else', new Date())).toBeUndefined()
    expect((await stores.tokens.byHash(row.tokenHash))?.token.id).toBe(row.id)
    expect((await stores.tokens.revoke(row.id, owner.id, new Date()))?.id).toBe(row.id)
    expect(await stores.tokens.revoke(row.id, owner.id, new Date())).toBeUndefined()
  })

  test('listActive: the owner’s unrevoked tokens, newest first, by keyset; countActive agrees', async () => {
    const owner = await user(use())
    const { stores } = use()
    const rows: AccessTokenRow[] = []
    for (let i = 0; i < 4; i++) {
      rows.push(token(owner.id))
      await stores.tokens.insert(rows[i]!)
    }
    await stores.tokens.insert(token((await user(use())).id))
    await stores.tokens.revoke(rows[1]!.id, owner.id, new Date())
    const first = await stores.tokens.listActive(owner.id, null, 2)
    expect(first.map((row) => row.id)).toEqual([rows[3]!.id, rows[2]!.id])
    expect((await stores.tokens.listActive(owner.id, rows[2]!.id, 10)).map((row) => row.id)).toEqual([rows[0]!.id])
    expect(await stores.tokens.countActive(owner.id)).toBe(3)
  })

  test('touch records the last use', async () => {
    const owner = await user(use())
    const { stores } = use()
    const row = token(owner.id)
    await stores.tokens.insert(row)
    const at = new Date(Date.now() + 5000)
    await stores.tokens.touch(row.id, at)
    expect((await stores.tokens.byHash(row.tokenHash))?.token.lastUsedAt).toEqual(at)
  })
})
