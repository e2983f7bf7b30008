/**
 * The identity store's contract (users and role bindings), on libsql and on
 * PostgreSQL, with the identity service's first sight on top of it.
 */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { RoleBindingRow, UserRow } from '../../../db/schema'
import type { AuditEvent, AuditLog } from '../../../plugins/audit'
import { primaryRole, type SignIn } from '../../../src/identity'
import { createIdentityService } from '../../../src/modules/identity/service'
import { eachDialect } from '../../helpers/databases'

const user = (fields: Partial<UserRow> = {}): UserRow => {
  const now = new Date()
  return { id: newId(), externalId: `ext-${newId()}`, email: `u-${newId()}@example.com`, displayName: null, createdAt: now, lastSeenAt: now, deletedAt: null, ...fields }
}

const binding = (userId: string, role: string, fields: Partial<RoleBindingRow> = {}): RoleBindingRow => ({
  id: newId(),
  userId,
  role,
  createdBy: 'tester@example.com',
  createdAt: new Date(),
  ...fields,
})

/** An audit log that only remembers what it was asked to record. */
const recordingAudit = () => {
  const events: AuditEvent[] = []
  const audit: AuditLog = {
    record: async (event) => void events.push(event),
    recordAll: async (recorded) => void events.push(...recorded),
    recordLater: (event) => void events.push(event),
    flush: async () => undefined,
    purge: async () => 0,
    close: async () => undefined,
  }
  return { events, audit }
}

const signIn = (requestId: string): SignIn => ({ requestId, ip: '192.0.2.7', roleOf: (roles) => primaryRole(roles) })

eachDialect('identity store', (use) => {
  test('a user is found by external id and by email (the oldest of that email)', async () => {
    const { stores } = use()
    const email = `same-${newId()}@example.com`
    const older = user({ email, createdAt: new Date(Date.now() - 60_000) })
    const newer = user({ email })
    expect(await stores.identity.insertUser(newer)).toBe(true)
    expect(await stores.identity.insertUser(older)).toBe(true)
    expect(await stores.identity.userIdByExternalId(newer.externalId)).toBe(newer.id)
    expect(await stores.identity.userIdByEmail(email)).toBe(older.id)
    expect(await stores.identity.userIdByExternalId(`nobody-${newId()}`)).toBeUndefined()
    expect(await stores.identity.userIdByEmail(`nobody-${newId()}@example.com`)).toBeUndefined()
  })

  test('a second user with the same external id is not added', async () => {
    const { stores } = use()
    const first = user()
    expect(await stores.identity.insertUser(first)).toBe(true)
    expect(await stores.identity.insertUser(user({ externalId: first.externalId }))).toBe(false)
    expect(await stores.identity.userIdByExternalId(first.externalId)).toBe(first.id)
  })

  test('concurrent first sights in separate transactions add one user', async () => {
    const { stores } = use()
    const externalId = `race-${newId()}`
    const added = await Promise.all(
      Array.from({ length: 6 }, () => stores.transaction((tx) => tx.identity.insertUser(user({ externalId })))),
    )
    expect(added.filter(Boolean)).toHaveLength(1)
  })

  test('concurrent resolves of a new person create one user and one user.created event', async () => {
    const { stores } = use()
    const { events, audit } = recordingAudit()
    const identity = createIdentityService({ stores, audit, adminEmails: [], cacheMs: 0 })
    const email = `first-${newId()}@example.com`
    const found = await Promise.all(Array.from({ length: 6 }, (_, i) => identity.resolve(email, email, signIn(`req-${i}`))))
    expect(new Set(found.map((identity) => identity.userId)).size).toBe(1)
    expect(found[0]!.roles).toEqual(['user'])
    const created = events.filter((event) => event.action === 'user.created')
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({ actorId: found[0]!.userId, actor: email, role: 'user', ip: '192.0.2.7', target: `user:${found[0]!.userId}` })
  })

  test('insertUsers adds the new ones in one go and says which; existing external ids are left alone', async () => {
    const { stores } = use()
    const existing = user()
    await stores.identity.insertUser(existing)
    const fresh = [user(), user()]
    const added = await stores.identity.insertUsers([fresh[0]!, user({ externalId: existing.externalId }), fresh[1]!])
    expect(added).toEqual(new Set([fresh[0]!.id, fresh[1]!.id]))
    expect(await stores.identity.userIdByExternalId(existing.externalId)).toBe(existing.id)
    expect(await stores.identity.insertUsers([])).toEqual(new Set())
  })

  test('a burst of first sights of many people (one twice, one an admin, one already known) creates each once, with one event each', async () => {
    const { stores } = use()
    const { events, audit } = recordingAudit()
    const emails = Array.from({ length: 8 }, (_, i) => `burst-${i}-${newId()}@example.com`)
    const known = user({ externalId: emails[7]!, email: emails[7]! })
    await stores.identity.insertUser(known)
    await stores.identity.bind(binding(known.id, 'analyst'))
    const identity = createIdentityService({ stores, audit, adminEmails: [emails[1]!], cacheMs: 0 })
    const asks = [...emails, emails[0]!]
    const found = await Promise.all(asks.map((email, i) => identity.resolve(email, email, signIn(`req-${i}`))))
    expect(found[8]!.userId).toBe(found[0]!.userId)
    expect(found[7]).toMatchObject({ userId: known.id, roles: ['user', 'analyst'] })
    expect(found[1]!.roles).toEqual(['user', 'admin'])
    expect(found.filter((_, i) => i !== 1 && i !== 7).every((identity) => identity.roles.join() === 'user')).toBe(true)
    for (const [i, email] of emails.entries()) expect(await stores.identity.userIdByExternalId(email)).toBe(found[i]!.userId)
    expect(await stores.identity.rolesOf(found[1]!.userId)).toEqual(['admin'])
    const created = events.filter((event) => event.action === 'user.created')
    expect(created.map((event) => event.target).sort()).toEqual(found.slice(0, 7).map((identity) => `user:${identity.userId}`).sort())
    for (const event of created) expect(event.actorId).toBe(event.target!.slice('user:'.length))
    expect(created.find((event) => event.actorId === found[1]!.userId)).toMatchObject({ role: 'admin', metadata: { bound_role: 'admin', source: 'ADMIN_EMAILS' } })
  })

  test('first sight of an ADMIN_EMAILS address binds admin, and its event records the admin role', async () => {
    const { stores } = use()
    const { events, audit } = recordingAudit()
    const email = `boss-${newId()}@example.com`
    const identity = createIdentityService({ stores, audit, adminEmails: [email.toUpperCase()], cacheMs: 0 })
    const found = await identity.resolve(email, email, signIn('req-admin'))
    expect(found.roles).toEqual(['user', 'admin'])
    expect(events).toEqual([
      expect.objectContaining({ action: 'user.created', role: 'admin', requestId: 'req-admin', metadata: { bound_role: 'admin', source: 'ADMIN_EMAILS' } }),
    ])
  })

  test('ensureUser finds a person by email or creates them, on the trail under whoever asked', async () => {
    const { stores } = use()
    const { events, audit } = recordingAudit()
    const identity = createIdentityService({ stores, audit, adminEmails: [], cacheMs: 0 })
    const by = { actorId: newId(), actor: 'admin@example.com', role: 'admin', requestId: 'req-grant', ip: null }
    const email = `granted-${newId()}@example.com`
    const id = await identity.ensureUser(` ${email.toUpperCase()} `, by)
    expect(await identity.ensureUser(email, by)).toBe(id)
    expect((await identity.resolve(email, email, signIn('req-later'))).userId).toBe(id)
    expect(events).toEqual([expect.objectContaining({ ...by, action: 'user.created', target: `user:${id}`, metadata: { email } })])
  })

  test('a role is bound once per user; roles read back in order', async () => {
    const { stores } = use()
    const person = user()
    await stores.identity.insertUser(person)
    expect(await stores.identity.bind(binding(person.id, 'auditor'))).toBe(true)
    expect(await stores.identity.bind(binding(person.id, 'auditor'))).toBe(false)
    const racing = await Promise.all(Array.from({ length: 4 }, () => stores.transaction((tx) => tx.identity.bind(binding(person.id, 'admin')))))
    expect(racing.filter(Boolean)).toHaveLength(1)
    expect(await stores.identity.rolesOf(person.id)).toEqual(['admin', 'auditor'])
    expect(await stores.identity.rolesOf(newId())).toEqual([])
  })

  test('bindings list newest first with the email, filtered by part of the email and exact role, page by page', async () => {
    const { stores } = use()
    const tag = `tag${newId().slice(-8)}`
    const people = [user({ email: `ann.${tag}@example.com` }), user({ email: `bob.${tag}@example.com` }), user({ email: `c_1%.${tag}@example.com` })]
    for (const person of people) await stores.identity.insertUser(person)
    const rows: RoleBindingRow[] = []
    for (const [person, role] of [[people[0]!, 'auditor'], [people[1]!, 'auditor'], [people[1]!, 'ADMIN_AGENT'], [people[2]!, 'auditor']] as const) {
      const row = binding(person.id, role)
      rows.push(row)
      await stores.identity.bind(row)
    }
    const ids = (list: Array<{ id: string }>) => list.map((row) => row.id)
    const all = await stores.identity.listBindings({ user: tag.toUpperCase() }, null, 10)
    expect(ids(all)).toEqual(ids([...rows].reverse()))
    expect(all[0]).toEqual({ ...rows[3]!, email: people[2]!.email })
    expect(ids(await stores.identity.listBindings({ user: `bob.${tag}`, role: 'auditor' }, null, 10))).toEqual([rows[1]!.id])
    expect(ids(await stores.identity.listBindings({ user: tag, role: 'ADMIN' }, null, 10))).toEqual([])
    // LIKE wildcards typed by a person match themselves only.
    expect(ids(await stores.identity.listBindings({ user: `c_1%.${tag}` }, null, 10))).toEqual([rows[3]!.id])
    expect(ids(await stores.identity.listBindings({ user: `c%.${tag}` }, null, 10))).toEqual([])
    const first = await stores.identity.listBindings({ user: tag }, null, 2)
    const second = await stores.identity.listBindings({ user: tag }, first[1]!.id, 2)
    expect([...ids(first), ...ids(second)]).toEqual(ids([...rows].reverse()))
  })

  test('unbind removes a binding, says when there was none, and refuses the last of the kept role', async () => {
    const { stores } = use()
    const kept = `keeper-${newId()}`
    const [a, b] = [user(), user()]
    await stores.identity.insertUser(a)
    await stores.identity.insertUser(b)
    const [first, second] = [binding(a.id, kept), binding(b.id, kept)]
    await stores.identity.bind(first)
    await stores.identity.bind(second)
    expect(await stores.identity.unbind(newId(), kept)).toBeUndefined()
    expect(await stores.identity.unbind(first.id, kept)).toEqual({ removed: { ...first, email: a.email } })
    expect(await stores.identity.unbind(first.id, kept)).toBeUndefined()
    expect(await stores.identity.unbind(second.id, kept)).toEqual({ refused: { ...second, email: b.email } })
    expect(await stores.identity.rolesOf(b.id)).toEqual([kept])
    // Other roles are removed whatever their count.
    const other = binding(a.id, `solo-${newId()}`)
    await stores.identity.bind(other)
    expect(await stores.identity.unbind(other.id, kept)).toEqual({ removed: { ...other, email: a.email } })
  })

  test('concurrent removals of every binding of the kept role leave exactly one', async () => {
    const { stores } = use()
    const kept = `keeper-${newId()}`
    const rows: RoleBindingRow[] = []
    for (let i = 0; i < 4; i++) {
      const person = user()
      await stores.identity.insertUser(person)
      rows.push(binding(person.id, kept))
      await stores.identity.bind(rows[i]!)
    }
    const outcomes = await Promise.all(rows.map((row) => stores.transaction((tx) => tx.identity.unbind(row.id, kept))))
    expect(outcomes.filter((outcome) => outcome && 'removed' in outcome)).toHaveLength(3)
    expect(outcomes.filter((outcome) => outcome && 'refused' in outcome)).toHaveLength(1)
    expect(await stores.identity.listBindings({ role: kept }, null, 10)).toHaveLength(1)
  })
})
