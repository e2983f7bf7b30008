/** The sign-in revocation store's contract, on libsql and on PostgreSQL (issue 14, finding 6). */
import { expect, test } from 'bun:test'
import { eachDialect } from '../../helpers/databases'

eachDialect('sign-in store', (use) => {
  test('revocations: recorded, read, moved forward only, per subject', async () => {
    const { stores } = use()
    const subject = `subject-${crypto.randomUUID()}`
    const other = `subject-${crypto.randomUUID()}`
    expect(await stores.signIns.revokedAt(subject)).toBeNull()

    const first = new Date('2026-03-01T10:00:00.123Z')
    await stores.signIns.revoke(subject, first)
    expect(await stores.signIns.revokedAt(subject)).toEqual(first)

    const later = new Date('2026-03-01T11:30:00.456Z')
    await stores.signIns.revoke(subject, later)
    expect(await stores.signIns.revokedAt(subject)).toEqual(later)

    // Another instance with a clock behind never moves the instant back.
    await stores.signIns.revoke(subject, first)
    expect(await stores.signIns.revokedAt(subject)).toEqual(later)
    expect(await stores.signIns.revokedAt(other)).toBeNull()
  })

  test('a revocation inside a transaction commits or rolls back with it', async () => {
    const { stores } = use()
    const kept = `subject-${crypto.randomUUID()}`
    const dropped = `subject-${crypto.randomUUID()}`
    const at = new Date()
    await stores.transaction((tx) => tx.signIns.revoke(kept, at))
    await expect(
      stores.transaction(async (tx) => {
        await tx.signIns.revoke(dropped, at)
        throw new Error('the change failed')
      }),
    ).rejects.toThrow('the change failed')
    expect(await stores.signIns.revokedAt(kept)).toEqual(at)
    expect(await stores.signIns.revokedAt(dropped)).toBeNull()
  })
})
