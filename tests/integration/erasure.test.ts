/**
 * Erasure (SPEC §4 DELETE /api/admin/users/:id, §5 Retention), on libsql and
 * PostgreSQL. The proof is a walk of the schema, not a list of tables: every
 * table that points at a person, session, job or ticket gets a row of the
 * erased user and one of a bystander (tests/helpers/data-walk.ts), beside the
 * rows the API makes; afterwards no cell of any table holds the erased user's
 * id, email, or the id of anything that was theirs (audit events keep opaque
 * ids of erased sessions and jobs, pseudonymised), no storage object of theirs
 * remains, and everything of the bystander does.
 */
import { describe, expect, test } from 'bun:test'
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core'
import { is } from 'drizzle-orm'
import * as pgSchema from '../../db/schema/pg'
import { COOKIE_NAME, form, FORM } from './auth-support'
import { idle } from './council-support'
import { allObjects, allRows, putDocumentObjects, seedEveryTable, type Owners } from '../helpers/data-walk'
import type { TestApp } from '../helpers/app'
import { expectErrorShape, freshUser, useApp, DIALECT } from './support'

/** A column that names a person, by a broad rule independent of the walk's own. */
const PERSONAL = /(^|_)(user|author|owner|actor|creator|uploader|requester|reviewer|member|person|subject|email)(_id)?$|_by$/
/** Columns of that shape the walk does not follow, and why that is right. */
const HANDLED_ELSEWHERE: Record<string, string> = {
  'users.email': 'the user row itself is deleted',
  'audit_events.actor': 'pseudonymised by the audit store (plugins/audit/pseudonymise.ts)',
  'audit_events.actor_id': 'pseudonymised by the audit store (plugins/audit/pseudonymise.ts)',
  'erased_identities.subject': 'an HMAC of an erased email, never an id or an address; kept while a sign-in cookie can live',
  'sign_in_revocations.subject': 'an HMAC of an email, never an id or an address; says only up to when its sign-in cookies are refused',
}

describe('the walk covers every column that names a person (db/schema/pg.ts)', () => {
  test('each such column is a reference to users in the plan, or handled elsewhere for a stated reason', async () => {
    const { planTables } = await import('../../src/modules/data/plan')
    const tables = Object.values(pgSchema as Record<string, unknown>)
      .filter((value): value is PgTable => is(value, PgTable))
      .map((table) => getTableConfig(table))
      .map((config) => ({ name: config.name, columns: config.columns.map((c) => ({ name: c.name, key: c.name, dataType: c.dataType, primary: c.primary })) }))
    const plans = planTables(tables)
    const missed: string[] = []
    for (const plan of plans)
      for (const column of plan.columns) {
        const id = `${plan.name}.${column.name}`
        if (!PERSONAL.test(column.name) || HANDLED_ELSEWHERE[id]) continue
        if (!plan.refs.some((ref) => ref.column.name === column.name && ref.target === 'users')) missed.push(id)
      }
    expect(missed).toEqual([])
  })
})

async function devCookie(t: TestApp, email: string): Promise<string> {
  const res = await t.call('POST', '/auth/dev-login', { body: form({ email }), headers: FORM })
  return res.headers.getSetCookie().find((cookie) => cookie.startsWith(`${COOKIE_NAME}=`))!.split(';')[0]!
}

/** A person with a bit of everything, made through the API; returns the ids the walk must reach. */
async function livePerson(t: TestApp, email: string, admin: string, other: string) {
  const call = (method: string, path: string, body?: unknown, user = email) => t.json(method, path, { user, body })
  const me = (await call('GET', '/api/v1/me')).body
  const session = (await call('POST', '/api/v1/sessions', { question: `What should ${email} do?` })).body
  const run = (await call('POST', `/api/v1/sessions/${session.id}/run`)).body
  await idle(t)
  const agent = await t.json('POST', '/api/v1/agents/analyst/run', { user: email, role: 'ADMIN_AGENT', body: { input: 'Hello' } })
  await idle(t)
  const token = (await call('POST', '/api/v1/tokens', { name: 'script' })).body
  const ticket = (await call('POST', '/api/v1/tickets', { title: `Ask by ${email}`, body: 'Please', kind: 'feature' })).body
  await call('POST', `/api/v1/tickets/${ticket.id}/comments`, { body: 'my own comment' })
  await call('POST', `/api/v1/tickets/${ticket.id}/comments`, { body: 'a comment by someone else' }, other)
  const checkout = (await call('POST', '/api/v1/payments/checkout', { palette_id: 'strategy' })).body
  await call('POST', '/api/v1/payments/confirm', { payment_id: checkout.payment_id, proof: checkout.dev_proof })
  await t.json('POST', '/api/admin/role-bindings', { user: admin, role: 'admin', body: { email, role: 'auditor' } })
  await t.json('PUT', '/api/admin/limits', { user: admin, role: 'admin', body: { scope: 'user', subject: email, daily_tokens: 123456 } })
  return { userId: me.id as string, sessionId: session.id as string, jobId: run.job_id as string, agentJobId: agent.body.job_id as string, token: token.token as string, ticketId: ticket.id as string, paymentId: checkout.payment_id as string }
}

describe(`DELETE /api/admin/users/:id (${DIALECT === 'pg' ? 'PostgreSQL' : 'libsql'})`, () => {
    const app = useApp()

    test('leaves no row and no object of the erased user, and everything of a bystander', async () => {
      const t = app()
      const admin = freshUser('admin')
      const [ann, bob] = [freshUser('ann'), freshUser('bob')]
      const annIds = await livePerson(t, ann, admin, bob)
      const bobIds = await livePerson(t, bob, admin, ann)
      const annCookie = await devCookie(t, ann)
      expect((await t.call('GET', '/api/v1/me', { headers: { cookie: annCookie } })).status).toBe(200)

      const owners = (ids: typeof annIds): Owners => ({ users: ids.userId, sessions: ids.sessionId, jobs: ids.jobId, tickets: ids.ticketId, payments: ids.paymentId, palettes: 'default' })
      const annSeed = await seedEveryTable(t.deps, owners(annIds), 'ann')
      const bobSeed = await seedEveryTable(t.deps, owners(bobIds), 'bob')
      // An object nothing names survives too: erasure removes what rows point at, not by guess.
      const stray = await putDocumentObjects(t.deps.storage, 'stray')
      // Usage merged in memory from the requests above lands in its rows first (erasure flushes it too), so before and after count the same rows.
      await t.deps.usage?.flush()
      const before = await allRows(t.deps)
      const bobRowsBefore = JSON.stringify(before).split(bobIds.userId).length

      const res = await t.json('DELETE', `/api/admin/users/${annIds.userId}`, { user: admin, role: 'admin' })
      expect(res.status).toBe(200)
      const receipt = res.body.receipt
      expect(Object.keys(res.body)).toEqual(['receipt'])
      expect(receipt.subject).toMatch(/^erased:[0-9a-f]{24}$/)
      expect(receipt.tables.users).toBe(1)
      for (const table of ['sessions', 'jobs', 'job_logs', 'stage_outputs', 'access_tokens', 'entitlements', 'tickets', 'ticket_comments', 'role_bindings', 'limits', 'budget_usage'])
        expect(receipt.tables[table]).toBeGreaterThan(0)
      expect(receipt.pseudonymised.payments).toBeGreaterThan(0)
      expect(receipt.pseudonymised.audit_events).toBeGreaterThan(0)
      expect(receipt.objects).toBeGreaterThanOrEqual(annSeed.objects.length)
      expect(Date.parse(receipt.at)).toBeGreaterThan(Date.now() - 60_000)

      // The walk: no cell anywhere names Ann or anything that was hers.
      const after = await allRows(t.deps)
      const person = [annIds.userId, ann]
      // Seeded rows that are hers: those owned (through owner references) by her, her sessions, jobs or tickets.
      // Rows owned only by what is kept (a payment's events: money records) stay, without her in them.
      const erased = new Set(['users', 'sessions', 'jobs', 'tickets'])
      for (let grew = true; grew; ) {
        grew = false
        for (const plan of t.deps.stores.data.plans)
          if (!erased.has(plan.name) && annSeed.rows[plan.name] && plan.refs.some((ref) => ref.role === 'owner' && erased.has(ref.target))) grew = Boolean(erased.add(plan.name))
      }
      const seededHers = Object.entries(annSeed.rows).flatMap(([table, ids]) => (erased.has(table) ? ids : []))
      const things = [annIds.sessionId, annIds.jobId, annIds.agentJobId, annIds.ticketId, ...seededHers]
      expect(seededHers.length).toBeGreaterThan(10)
      for (const [table, rows] of Object.entries(after))
        for (const row of rows)
          for (const [column, value] of Object.entries(row)) {
            const text = typeof value === 'string' ? value : JSON.stringify(value ?? null)
            // The trail keeps the opaque ids of what was erased (they lead nowhere now), never the person.
            for (const needle of table === 'audit_events' ? person : [...person, ...things])
              if (text.includes(needle)) throw new Error(`${table}.${column} still holds ${needle === ann ? 'her email' : needle}: ${text.slice(0, 200)}`)
          }
      const objects = await allObjects(t.deps.storage)
      for (const key of annSeed.objects) expect(objects).not.toContain(key)
      for (const key of [...bobSeed.objects, ...stray.objects]) expect(objects).toContain(key)

      // Bob keeps every row, and the rows that name him still do.
      for (const [table, ids] of Object.entries(bobSeed.rows)) {
        const kept = after[table]!.map((row) => String(row[t.deps.stores.data.plans.find((p) => p.name === table)!.primaryKey!.name]))
        for (const id of ids) expect(kept).toContain(id)
      }
      expect(JSON.stringify(after).split(bobIds.userId).length).toBe(bobRowsBefore)

      // Money records stay, under the pseudonym.
      const payment = after.payments!.find((row) => row.id === annIds.paymentId)!
      expect(payment.user_id).toBe(receipt.subject)

      // The erasure's own record: who did it, counts, no content.
      const events = after.audit_events!.filter((row) => row.action === 'user.erase')
      expect(events).toHaveLength(1)
      expect(events[0]!.target).toBe(`user:${receipt.subject}`)
      expect(events[0]!.metadata).toEqual({ tables: receipt.tables, pseudonymised: receipt.pseudonymised, objects: receipt.objects })
      expect(after.audit_events!.some((row) => row.actor_id === receipt.subject && row.action === 'session.create')).toBe(true)

      // Her token and her sign-in cookie stop working; her session is gone for everyone.
      expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { authorization: `Bearer ${annIds.token}` } }), 401)
      expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: { cookie: annCookie } }), 401)
      expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${annIds.sessionId}`, { user: ann }), 404)
      // Erasing again: she is gone.
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/users/${annIds.userId}`, { user: admin, role: 'admin' }), 404)
    }, 30_000)

    test('DELETE /api/v1/sessions/:id?hard=true removes everything that belonged to the session, in any table and in storage', async () => {
      const t = app()
      const owner = freshUser('owner')
      const session = (await t.json('POST', '/api/v1/sessions', { user: owner, body: { question: 'Gone for good?' } })).body
      const run = (await t.json('POST', `/api/v1/sessions/${session.id}/run`, { user: owner })).body
      await idle(t)
      const other = (await t.json('POST', '/api/v1/sessions', { user: owner, body: { question: 'Stays' } })).body
      const seeded = await seedEveryTable(t.deps, { sessions: session.id, jobs: run.job_id }, 'hard')
      const kept = await seedEveryTable(t.deps, { sessions: other.id }, 'kept')
      expect((await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser('admin'), role: 'admin' })).status).toBe(204)
      const text = JSON.stringify(await allRows(t.deps))
      for (const id of [session.id, run.job_id, ...Object.values(seeded.rows).flat()]) {
        // The trail keeps the opaque ids of what was deleted.
        const outsideAudit = JSON.stringify(Object.fromEntries(Object.entries(await allRows(t.deps)).filter(([table]) => table !== 'audit_events')))
        if (outsideAudit.includes(id)) throw new Error(`${id} is still stored after the hard delete: ${outsideAudit.slice(Math.max(0, outsideAudit.indexOf(id) - 300), outsideAudit.indexOf(id) + 100)}`)
      }
      for (const id of Object.values(kept.rows).flat()) expect(text).toContain(id)
      const objects = await allObjects(t.deps.storage)
      for (const key of seeded.objects) expect(objects).not.toContain(key)
      for (const key of kept.objects) expect(objects).toContain(key)
    }, 20_000)

    test('refuses: unknown or malformed ids 404, members 403, oneself 409, the last admin binding 409', async () => {
      const t = app()
      const admin = freshUser('admin')
      const adminId = (await t.json('GET', '/api/v1/me', { user: admin, role: 'admin' })).body.id
      expectErrorShape(expect, await t.json('DELETE', '/api/admin/users/0190a0b0-0000-7000-8000-000000000000', { user: admin, role: 'admin' }), 404)
      expectErrorShape(expect, await t.json('DELETE', '/api/admin/users/not-an-id', { user: admin, role: 'admin' }), 404)
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/users/${adminId}`, { user: freshUser('member') }), 403)
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/users/${adminId}`, { user: admin, role: 'admin' }), 409, 'cannot_erase_self')

      const onlyAdmin = freshUser('only')
      await t.json('POST', '/api/admin/role-bindings', { user: admin, role: 'admin', body: { email: onlyAdmin, role: 'admin' } })
      // Admins here act through X-Role: the one bound admin is the install's last.
      const bound = (await t.json('GET', `/api/admin/role-bindings?role=admin`, { user: admin, role: 'admin' })).body.items
      expect(bound).toHaveLength(1)
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/users/${bound[0].user_id}`, { user: admin, role: 'admin' }), 409, 'last_admin')
    })
  })

describe('erasure while a council of the person runs', () => {
  const app = useApp({ LLM_OFFLINE_LATENCY_MS: '300' })

  test('the council is stopped first, and nothing it was writing is left behind', async () => {
    const t = app()
    const user = freshUser('busy')
    const session = (await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Still running?' } })).body
    const run = (await t.json('POST', `/api/v1/sessions/${session.id}/run`, { user })).body
    const userId = (await t.json('GET', '/api/v1/me', { user })).body.id
    const deadline = Date.now() + 5000
    while ((await t.json('GET', `/api/v1/jobs/${run.job_id}`, { user })).body.status !== 'running' && Date.now() < deadline) await Bun.sleep(20)
    const res = await t.json('DELETE', `/api/admin/users/${userId}`, { user: freshUser('admin'), role: 'admin' })
    expect(res.status).toBe(200)
    await idle(t)
    await Bun.sleep(300)
    const rows = await allRows(t.deps)
    const outsideAudit = JSON.stringify(Object.fromEntries(Object.entries(rows).filter(([table]) => table !== 'audit_events')))
    for (const id of [userId, user, session.id, run.job_id]) expect(outsideAudit.includes(id)).toBe(false)
  }, 20_000)
})
