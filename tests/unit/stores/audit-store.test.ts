/** The audit store's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { AuditEventRow } from '../../../db/schema'
import { toAuditRow } from '../../../plugins/audit'
import { eachDialect } from '../../helpers/databases'

eachDialect('audit store', (use) => {
  const readAll = async (ids: string[]) => {
    const { db } = use()
    const rows = (await db.orm.select().from(db.t.auditEvents)) as AuditEventRow[]
    return rows.filter((row) => ids.includes(row.id)).sort((a, b) => a.id.localeCompare(b.id))
  }

  test('appends one event and a batch exactly as given (quotes, unicode, nested metadata, nulls)', async () => {
    const { stores } = use()
    const one = toAuditRow({ action: 'session.create', actor: 'a@example.com', metadata: { n: 1 } })
    const batch = [
      toAuditRow({ action: 'session.read', actor: "o'brien@example.com", target: 'session:"x"', metadata: { nested: { list: [1, 'två'] } } }),
      toAuditRow({ action: 'session.read', actor: null, role: null }),
      toAuditRow({ action: 'login', ip: '::1', requestId: 'r-1', metadata: { token: 'secret' } }),
    ]
    await stores.audit.append([one])
    await stores.audit.append(batch)
    const stored = await readAll([one, ...batch].map((row) => row.id))
    expect(stored).toEqual([one, ...batch].sort((a, b) => a.id.localeCompare(b.id)))
    expect(stored.find((row) => row.action === 'login')!.metadata).toEqual({ token: '[redacted]' })
    expect(stored.find((row) => row.actor === null)!.metadata).toBeNull()
  })

  test('deleteBefore removes at most `limit` of the older events and none of the newer', async () => {
    const { stores } = use()
    const old = Array.from({ length: 5 }, () => toAuditRow({ action: 'old' }, new Date('2001-01-01T00:00:00Z')))
    const recent = toAuditRow({ action: 'recent' }, new Date('2001-06-01T00:00:00Z'))
    await stores.audit.append([...old, recent])
    const cutoff = new Date('2001-02-01T00:00:00Z')
    expect(await stores.audit.deleteBefore(cutoff, 3)).toBe(3)
    expect(await stores.audit.deleteBefore(cutoff, 3)).toBe(2)
    expect(await stores.audit.deleteBefore(cutoff, 3)).toBe(0)
    expect((await readAll([recent.id])).length).toBe(1)
  })

  test('events appended in a transaction that fails are not kept', async () => {
    const { stores } = use()
    const row = toAuditRow({ action: 'doomed', target: newId() })
    await expect(
      stores.transaction(async (tx) => {
        await tx.audit.append([row])
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await readAll([row.id])).toEqual([])
  })
})
