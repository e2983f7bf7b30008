/**
 * Personal access tokens through the real app, on the database of the pass
 * (libsql, then PostgreSQL): shown once, stored as a hash only, usable as a
 * bearer alongside every other way in, carrying the owner's roles as they are
 * at each use, refused from the next request once revoked or expired, listed
 * and revoked by their owner only, audited on create and revoke (not on use);
 * and the /me panel that creates and revokes them in place.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { newId } from '../../db/client'
import { hashToken } from '../../src/modules/tokens/service'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser } from './support'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

const TOKEN = /^acpat_[A-Za-z0-9_-]{43}$/
const ADMIN = { user: 'tokens-admin@example.com', role: 'admin' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function createToken(user: string, body: Record<string, unknown> = { name: 'CI export' }) {
  const res = await t.json('POST', '/api/v1/tokens', { user, body })
  expect(res.status).toBe(201)
  return res.body as { id: string; name: string; token: string; prefix: string; expires_at: string }
}

describe('creating and using a token', () => {
  test('201 with the token once: a recognisable prefix and 32 random bytes, 90 days by default', async () => {
    const res = await t.json('POST', '/api/v1/tokens', { user: freshUser(), body: { name: '  nightly export  ' } })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(Object.keys(res.body).sort()).toEqual(['expires_at', 'id', 'name', 'prefix', 'token'])
    expect(res.body.name).toBe('nightly export')
    expect(res.body.token).toMatch(TOKEN)
    expect(res.body.token.startsWith(res.body.prefix)).toBe(true)
    expect(Math.abs(Date.parse(res.body.expires_at) - (Date.now() + 90 * 86_400_000))).toBeLessThan(60_000)
    const week = await createToken(freshUser(), { name: 'week', expires_in_days: 7 })
    expect(Math.abs(Date.parse(week.expires_at) - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000)
  })

  test('bad input is 422 in the error shape', async () => {
    const user = freshUser()
    for (const body of [{ name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 'tab\there' }, { name: 'a', expires_in_days: 0 }, { name: 'a', expires_in_days: 366 }, {}])
      expectErrorShape(expect, await t.json('POST', '/api/v1/tokens', { user, body }), 422)
  })

  test('the token authenticates as its owner, for reads and writes, without a CSRF token', async () => {
    const user = freshUser('integrator')
    const me = (await t.json('GET', '/api/v1/me', { user })).body
    const { token } = await createToken(user)
    const viaToken = await t.json('GET', '/api/v1/me', { headers: bearer(token) })
    expect(viaToken.status).toBe(200)
    expect(viaToken.body).toMatchObject({ id: me.id, email: user, roles: ['user'] })
    const created = await t.json('POST', '/api/v1/sessions', { headers: bearer(token), body: { question: 'Asked by a script?' } })
    expect(created.status).toBe(201)
    expect((await t.json('GET', `/api/v1/sessions/${created.body.id}`, { user })).status).toBe(200)
  })

  test('a token-shaped bearer nobody issued, or a mangled one, is 401', async () => {
    for (const token of ['acpat_', `acpat_${'A'.repeat(43)}`, `acpat_${'A'.repeat(44)}`, 'acpat_../../etc'])
      expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: bearer(token) }), 401)
  })

  test('the database holds only the hash: no row carries the token or its secret part', async () => {
    const user = freshUser('hashed')
    const { id, token } = await createToken(user)
    const rows = await t.deps.stores.tokens.listActive((await t.json('GET', '/api/v1/me', { user })).body.id, null, 100)
    const row = rows.find((candidate) => candidate.id === id)!
    expect(row.tokenHash).toBe(hashToken(token))
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/)
    const secret = token.slice('acpat_'.length)
    const everything = JSON.stringify(rows)
    expect(everything).not.toContain(token)
    expect(everything).not.toContain(secret.slice(4))
    expect(row.prefix.length).toBeLessThanOrEqual('acpat_'.length + 4)
  })
})

describe('listing and revoking', () => {
  test('the list shows the owner’s tokens without the secret, with the last use (written at most once a minute)', async () => {
    const user = freshUser('lister')
    const first = await createToken(user, { name: 'one' })
    const second = await createToken(user, { name: 'two' })
    await createToken(freshUser('someone-else'))
    const before = await t.json('GET', '/api/v1/tokens', { user })
    expect(before.status).toBe(200)
    expect(before.body.items.map((item: { id: string }) => item.id)).toEqual([second.id, first.id])
    expect(Object.keys(before.body.items[0]).sort()).toEqual(['created_at', 'expired', 'expires_at', 'id', 'last_used_at', 'name', 'prefix'])
    expect(before.body.items[0].last_used_at).toBeNull()
    expect(JSON.stringify(before.body)).not.toContain(first.token)

    await t.json('GET', '/api/v1/me', { headers: bearer(first.token) })
    // The last-use write happens beside the request, not in it: wait for it (a loaded machine may take a while).
    let used: { last_used_at: string | null } | undefined
    for (let tries = 0; tries < 100 && !used?.last_used_at; tries++) {
      await Bun.sleep(20)
      used = (await t.json('GET', '/api/v1/tokens', { user })).body.items.find((item: { id: string }) => item.id === first.id)
    }
    expect(Math.abs(Date.parse(used!.last_used_at!) - Date.now())).toBeLessThan(10_000)
    await t.json('GET', '/api/v1/me', { headers: bearer(first.token) })
    await Bun.sleep(50)
    const again = (await t.json('GET', '/api/v1/tokens', { user })).body.items.find((item: { id: string }) => item.id === first.id)
    expect(again.last_used_at).toBe(used!.last_used_at)
  })

  test('a revoked token is refused on its very next request', async () => {
    const user = freshUser('revoker')
    const { id, token } = await createToken(user)
    expect((await t.json('GET', '/api/v1/me', { headers: bearer(token) })).status).toBe(200)
    const revoked = await t.call('DELETE', `/api/v1/tokens/${id}`, { user })
    expect(revoked.status).toBe(204)
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: bearer(token) }), 401, 'unauthenticated')
    expect((await t.json('GET', '/api/v1/tokens', { user })).body.items).toEqual([])
    expectErrorShape(expect, await t.json('DELETE', `/api/v1/tokens/${id}`, { user }), 404)
  })

  test("only the owner revokes: another user's token, or no token, is 404", async () => {
    const owner = freshUser('owner')
    const { id, token } = await createToken(owner)
    expectErrorShape(expect, await t.json('DELETE', `/api/v1/tokens/${id}`, { user: freshUser('stranger') }), 404)
    expectErrorShape(expect, await t.json('DELETE', '/api/v1/tokens/not-an-id', { user: owner }), 404)
    expect((await t.json('GET', '/api/v1/me', { headers: bearer(token) })).status).toBe(200)
  })

  test('an expired token is refused with 401 token_expired', async () => {
    const user = freshUser('expired')
    const userId = (await t.json('GET', '/api/v1/me', { user })).body.id
    const token = `acpat_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`
    const past = new Date(Date.now() - 1000)
    await t.deps.stores.tokens.insert({
      id: newId(),
      userId,
      name: 'old',
      tokenHash: hashToken(token),
      prefix: token.slice(0, 10),
      createdAt: new Date(past.getTime() - 86_400_000),
      expiresAt: past,
      lastUsedAt: null,
      revokedAt: null,
    })
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: bearer(token) }), 401, 'token_expired')
    expect((await t.json('GET', '/api/v1/tokens', { user })).body.items[0]).toMatchObject({ name: 'old', expired: true })
  })

  test('creating and revoking are audited without the token; using it is not', async () => {
    const user = freshUser('audited')
    const { id, token, prefix } = await createToken(user, { name: 'audited one' })
    for (let i = 0; i < 3; i++) await t.json('GET', '/api/v1/me', { headers: bearer(token) })
    await t.call('DELETE', `/api/v1/tokens/${id}`, { user })
    const events = (await t.json('GET', `/api/admin/audit?limit=200&target=${encodeURIComponent(`token:${id}`)}`, ADMIN)).body.items
    expect(events.map((event: { action: string }) => event.action).sort()).toEqual(['token.create', 'token.revoke'])
    expect(events.find((event: { action: string }) => event.action === 'token.create')).toMatchObject({ actor: user, metadata: { name: 'audited one', prefix } })
    const mine = (await t.json('GET', `/api/admin/audit?limit=200&actor=${encodeURIComponent(user)}`, ADMIN)).body.items
    expect(JSON.stringify(mine)).not.toContain(token)
    expect(mine.filter((event: { action: string }) => event.action.startsWith('token.'))).toHaveLength(2)
  })
})

describe('roles at use time', () => {
  test('a role bound after the token was made applies on its next use, and so does its removal', async () => {
    const user = freshUser('promoted')
    const { token } = await createToken(user)
    expectErrorShape(expect, await t.json('GET', '/api/admin/audit', { headers: bearer(token) }), 403)
    const granted = await t.json('POST', '/api/admin/role-bindings', { ...ADMIN, body: { email: user, role: 'auditor' } })
    expect(granted.status).toBe(201)
    expect((await t.json('GET', '/api/v1/me', { headers: bearer(token) })).body.roles).toEqual(['user', 'auditor'])
    expect((await t.json('GET', '/api/admin/audit', { headers: bearer(token) })).status).toBe(200)
    expect((await t.call('DELETE', `/api/admin/role-bindings/${granted.body.id}`, ADMIN)).status).toBe(204)
    expect((await t.json('GET', '/api/v1/me', { headers: bearer(token) })).body.roles).toEqual(['user'])
    expectErrorShape(expect, await t.json('GET', '/api/admin/audit', { headers: bearer(token) }), 403)
  })
})

describe('the /me page', () => {
  const htmx = { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' }

  test('lists tokens, creates one shown once, and revokes in place', async () => {
    const user = freshUser('pager')
    const page = await t.call('GET', '/me', { user })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Personal access tokens')
    expect(html).toContain('id="no-tokens"')

    const created = await t.call('POST', '/me/tokens', { user, headers: htmx, body: 'name=from+the+page&expires_in_days=30' })
    expect(created.status).toBe(200)
    expect(created.headers.get('cache-control')).toBe('no-store')
    const panel = await created.text()
    expect(panel.startsWith('<section class="card" id="tokens-panel"')).toBe(true)
    const token = /id="new-token"[^>]*value="(acpat_[^"]+)"/.exec(panel)?.[1]
    expect(token).toMatch(TOKEN)
    expect((await t.json('GET', '/api/v1/me', { headers: bearer(token!) })).body.email).toBe(user)
    const later = await (await t.call('GET', '/me', { user })).text()
    expect(later).toContain('from the page')
    expect(later).not.toContain(token!)

    const refused = await t.call('POST', '/me/tokens', { user, headers: htmx, body: 'name=&expires_in_days=30' })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('id="tokens-error"')

    const id = (await t.json('GET', '/api/v1/tokens', { user })).body.items[0].id
    const revoked = await t.call('POST', `/me/tokens/${id}/revoke`, { user, headers: htmx, body: '' })
    expect(revoked.status).toBe(200)
    const after = await revoked.text()
    expect(after).toContain('id="tokens-done"')
    expect(after).not.toContain(`data-token-id="${id}"`)
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { headers: bearer(token!) }), 401)
  })
})
