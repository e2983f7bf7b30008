/** The audit store's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { AuditEventRow } from '../../../db/schema'
import { toAuditJson, toAuditRow, type AuditQuery } from '../../../plugins/audit'
import { eachDialect } from '../../helpers/databases'

const MINUTE = 60_000

eachDialect('audit store', (use) => {
  const readAll = async (ids: string[]) => {
    const { stores } = use()
    const rows = await stores.audit.list({ limit: 100_000 })
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

  /** Events of one family at the given minutes before a fixed instant, ids time-ordered like the app's. */
  const seed = async (family: string, rows: Array<Partial<AuditEventRow> & { minutesAgo: number }>) => {
    const now = new Date('2030-06-01T12:00:00Z').getTime()
    const values = rows.map(({ minutesAgo, ...row }) => {
      const at = new Date(now - minutesAgo * MINUTE)
      return { ...toAuditRow({ action: family }, at), id: Bun.randomUUIDv7('hex', at), ...row, action: `${family}${row.action ?? ''}` }
    })
    await use().stores.audit.append(values)
    return { now, values }
  }
  const listed = async (query: Omit<AuditQuery, 'limit'> & { limit?: number }) =>
    (await use().stores.audit.list({ limit: 100, ...query })).map((row) => row.id)

  test('list: newest first, each filter alone and together, limit and keyset `before`', async () => {
    const family = `f${newId().slice(0, 8)}`
    const { now, values } = await seed(family, [
      { minutesAgo: 50, action: '.create', actor: 'Alice.Smith@example.com', actorId: 'actor-alice', target: 'user:1', requestId: 'req-1' },
      { minutesAgo: 40, action: '.delete', actor: 'bob@example.com', target: 'user:2', requestId: 'req-2' },
      { minutesAgo: 30, action: '.create', actor: 'bob@example.com', target: 'session:9', requestId: 'req-3' },
      { minutesAgo: 20, action: '_create', actor: 'carol@example.com', target: 'user_3' },
    ])
    const [a, b, c, d] = values.map((row) => row.id)
    const all = { action: { prefix: family } }
    expect(await listed(all)).toEqual([d, c, b, a])
    expect(await listed({ action: { equals: `${family}.create` } })).toEqual([c, a])
    expect(await listed({ action: { equals: family } })).toEqual([])
    // A prefix is literal: `_` and `%` match only themselves.
    expect(await listed({ action: { prefix: `${family}.` } })).toEqual([c, b, a])
    expect(await listed({ action: { prefix: `${family}%` } })).toEqual([])
    expect(await listed({ ...all, actorContains: 'ALICE' })).toEqual([a])
    expect(await listed({ ...all, actorContains: 'bob@' })).toEqual([c, b])
    expect(await listed({ ...all, actorContains: '%' })).toEqual([])
    expect(await listed({ ...all, actorId: 'actor-alice' })).toEqual([a])
    expect(await listed({ ...all, target: { equals: 'user:2' } })).toEqual([b])
    expect(await listed({ ...all, target: { prefix: 'user:' } })).toEqual([b, a])
    expect(await listed({ ...all, target: { prefix: 'user_' } })).toEqual([d])
    expect(await listed({ ...all, requestId: 'req-3' })).toEqual([c])
    // since is inclusive, until exclusive.
    const since = new Date(now - 40 * MINUTE)
    const until = new Date(now - 20 * MINUTE)
    expect(await listed({ ...all, since, until })).toEqual([c, b])
    expect(await listed({ ...all, since, actorContains: 'bob', target: { prefix: 'user:' } })).toEqual([b])
    expect(await listed({ ...all, limit: 2 })).toEqual([d, c])
    expect(await listed({ ...all, limit: 2, before: c })).toEqual([b, a])
    expect(await listed({ ...all, before: a })).toEqual([])
  })

  test('list returns whole rows, metadata included', async () => {
    const family = `r${newId().slice(0, 8)}`
    const { values } = await seed(family, [{ minutesAgo: 1, metadata: { nested: { ok: true } }, ip: '10.0.0.1' }])
    const [row] = await use().stores.audit.list({ action: { equals: family }, limit: 5 })
    expect(row).toEqual(values[0]!)
  })

  test('append with stream: every event also lands in the outbox, in order, as its JSON line', async () => {
    const { stores } = use()
    const family = `s${newId().slice(0, 8)}`
    const single = toAuditRow({ action: family, target: 'one', metadata: { text: 'hidden', quote: `"'\n` } })
    const batch = Array.from({ length: 3 }, (_, i) => toAuditRow({ action: family, target: `batch-${i}` }))
    await stores.audit.append([single], { stream: true })
    await stores.audit.append(batch, { stream: true })
    await stores.audit.append([toAuditRow({ action: family, target: 'not streamed' })])
    const entries = await stores.audit.outbox.take(100)
    const mine = entries.filter((entry) => JSON.parse(entry.payload).action === family)
    expect(mine.map((entry) => entry.eventId)).toEqual([single, ...batch].map((row) => row.id))
    expect(mine.map((entry) => JSON.parse(entry.payload))).toEqual([single, ...batch].map(toAuditJson))
    expect(mine[0]!.payload).not.toContain('\n')
    expect(JSON.parse(mine[0]!.payload).metadata).toEqual({ text: '[redacted]', quote: `"'\n` })
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.seq).toBeGreaterThan(entries[i - 1]!.seq)
    expect(mine[0]!.createdAt).toEqual(single.at)
    await stores.audit.outbox.remove(entries.map((entry) => entry.seq))
  })

  test('outbox: take in order with a limit, remove by seq (twice is harmless), backlog counts and ages', async () => {
    const { stores } = use()
    const { outbox } = stores.audit
    expect(await outbox.backlog()).toEqual({ count: 0, oldestAt: null })
    const rows = Array.from({ length: 5 }, (_, i) => toAuditRow({ action: 'outbox.order' }, new Date(Date.UTC(2030, 0, 1, 0, i))))
    for (const row of rows) await stores.audit.append([row], { stream: true })
    expect(await outbox.backlog()).toEqual({ count: 5, oldestAt: rows[0]!.at })
    const first = await outbox.take(2)
    expect(first.map((entry) => entry.eventId)).toEqual(rows.slice(0, 2).map((row) => row.id))
    await outbox.remove(first.map((entry) => entry.seq))
    await outbox.remove(first.map((entry) => entry.seq))
    await outbox.remove([])
    expect(await outbox.backlog()).toEqual({ count: 3, oldestAt: rows[2]!.at })
    const rest = await outbox.take(10)
    expect(rest.map((entry) => entry.eventId)).toEqual(rows.slice(2).map((row) => row.id))
    await outbox.remove(rest.map((entry) => entry.seq))
    expect(await outbox.take(10)).toEqual([])
  })

  test('an event and its outbox entry commit or roll back together', async () => {
    const { stores } = use()
    const kept = toAuditRow({ action: 'outbox.tx', target: 'kept' })
    const doomed = toAuditRow({ action: 'outbox.tx', target: 'doomed' })
    await stores.transaction(async (tx) => tx.audit.append([kept], { stream: true }))
    await expect(
      stores.transaction(async (tx) => {
        await tx.audit.append([doomed], { stream: true })
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    const entries = await stores.audit.outbox.take(100)
    expect(entries.map((entry) => entry.eventId)).toEqual([kept.id])
    expect((await readAll([kept.id, doomed.id])).map((row) => row.id)).toEqual([kept.id])
    await stores.audit.outbox.remove(entries.map((entry) => entry.seq))
  })

  test('lease: one holder at a time; renewable by its holder; free once expired or released', async () => {
    const { outbox } = use().stores.audit
    const name = `lease-${newId()}`
    expect(await outbox.acquireLease(name, 'a', 60_000)).toBe(true)
    expect(await outbox.acquireLease(name, 'b', 60_000)).toBe(false)
    expect(await outbox.acquireLease(name, 'a', 60_000)).toBe(true)
    await outbox.releaseLease(name, 'b')
    expect(await outbox.acquireLease(name, 'b', 60_000)).toBe(false)
    await outbox.releaseLease(name, 'a')
    expect(await outbox.acquireLease(name, 'b', 200)).toBe(true)
    expect(await outbox.acquireLease(name, 'a', 60_000)).toBe(false)
    await Bun.sleep(300)
    expect(await outbox.acquireLease(name, 'a', 60_000)).toBe(true)
    expect(await outbox.acquireLease(name, 'b', 60_000)).toBe(false)
    // Other leases are independent.
    expect(await outbox.acquireLease(`${name}-other`, 'b', 60_000)).toBe(true)
  })

  test('lease: of many asking at once, exactly one gets it', async () => {
    const { outbox } = use().stores.audit
    const name = `race-${newId()}`
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => outbox.acquireLease(name, `holder-${i}`, 60_000)))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  test('mentioning finds every event naming a person (actor, actor id, target, metadata), oldest first, by keyset', async () => {
    const { stores } = use()
    const userId = newId()
    const email = `m_${newId().slice(-6)}@example.com`
    const rows = [
      toAuditRow({ action: 'by.id', actorId: userId, actor: 'renamed@example.com' }),
      toAuditRow({ action: 'by.email', actor: email }),
      toAuditRow({ action: 'on.target', actor: 'admin@example.com', target: `user:${userId}` }),
      toAuditRow({ action: 'in.metadata', actor: 'admin@example.com', metadata: { email: email.toUpperCase(), nested: [userId] } }),
    ]
    const unrelated = toAuditRow({ action: 'other', actor: 'x@example.com', metadata: { email: 'mXexample.com' } })
    await stores.audit.append([...rows, unrelated])
    const found = await stores.audit.mentioning({ userId, email }, null, 100)
    expect(found.map((row) => row.id)).toEqual(rows.map((row) => row.id))
    const first = await stores.audit.mentioning({ userId, email }, null, 2)
    expect(await stores.audit.mentioning({ userId, email }, first[1]!.id, 100)).toEqual(found.slice(2))
  })

  test('rewrite overwrites who and what of the given events, and their waiting outbox lines', async () => {
    const { stores } = use()
    const row = toAuditRow({ action: 'session.create', actorId: 'u-1', actor: 'ann@example.com', target: 'user:u-1', ip: '10.0.0.1', metadata: { by: 'ann@example.com' } })
    await stores.audit.append([row], { stream: true })
    const changed = { ...row, actorId: 'erased:x', actor: 'erased:x', target: 'user:erased:x', ip: null, metadata: { by: 'erased:x' } }
    await stores.audit.rewrite([changed])
    expect(await readAll([row.id])).toEqual([changed])
    const line = (await stores.audit.outbox.take(100_000)).find((entry) => entry.eventId === row.id)!
    expect(JSON.parse(line.payload)).toEqual(toAuditJson(changed))
    await stores.audit.rewrite([])
  })
})
