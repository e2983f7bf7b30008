/**
 * Role bindings administration (SPEC §4 /api/admin/role-bindings, page
 * /admin/rbac; seed M4.T3): admins list, grant and revoke roles; members and
 * auditors are refused; the last admin binding stays; every change lands with
 * its audit event and applies at once. Runs on the run's dialect (libsql,
 * then PostgreSQL; tests/integration/support.ts).
 */
import { describe, expect, test } from 'bun:test'
import type { TestApp } from '../helpers/app'
import { auditEvents, DIALECT, expectErrorShape, freshUser, useApp, UUID } from './support'

const ADMIN = 'rbac-boss@example.com'
const BINDING_KEYS = ['created_at', 'created_by', 'email', 'id', 'role', 'user_id']

const ADMIN_API: Array<[string, string, unknown?]> = [
  ['GET', '/api/admin/role-bindings'],
  ['POST', '/api/admin/role-bindings', { email: 'someone@example.com', role: 'auditor' }],
  ['DELETE', '/api/admin/role-bindings/0190a0b0-0000-7000-8000-000000000000'],
  ['GET', '/api/admin/audit'],
  ['GET', '/api/admin/audit?format=csv'],
]

const grant = (t: TestApp, email: string, role: string, by = ADMIN) =>
  t.json('POST', '/api/admin/role-bindings', { user: by, body: { email, role } })

const auditRows = (t: TestApp, action: string, requestId: string) => auditEvents(t, { action, request_id: requestId })

/** Signs in through the dev login like a browser; returns the cookie and the page's CSRF token. */
async function browserSession(t: TestApp, email: string) {
  const login = await t.call('POST', '/auth/dev-login', { body: { email } })
  expect(login.status).toBe(303)
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!
  const page = await t.call('GET', '/admin/rbac', { headers: { cookie } })
  expect(page.status).toBe(200)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1]
  expect(csrf).toBeTruthy()
  return { cookie, csrf: csrf! }
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const HTMX = { 'hx-request': 'true' }

describe(`role bindings on ${DIALECT}`, () => {
  // Two internal roles that only JWT_ROLE_MAP names: bindable like the built-in ones.
  const app = useApp({ ADMIN_EMAILS: ADMIN, JWT_ROLE_MAP: `Ops.ReadOnly=ops:read-only_2,Long=A${'b'.repeat(63)}` })

  describe('who may', () => {
    test('no identity → 401 on every /api/admin route', async () => {
      for (const [method, path, body] of ADMIN_API) expectErrorShape(expect, await app().json(method, path, { body }), 401, 'unauthenticated')
    })

    test('a member → 403 in the error shape on every /api/admin route', async () => {
      const member = freshUser('member')
      for (const [method, path, body] of ADMIN_API) {
        const res = await app().json(method, path, { user: member, body })
        expectErrorShape(expect, res, 403, 'forbidden')
      }
    })

    test('an auditor reads the audit trail but gets 403 on role bindings', async () => {
      const auditor = freshUser('auditor')
      expect((await app().json('GET', '/api/admin/audit', { user: auditor, role: 'auditor' })).status).toBe(200)
      expect((await app().call('GET', '/api/admin/audit?format=csv', { user: auditor, role: 'auditor' })).status).toBe(200)
      for (const [method, path, body] of ADMIN_API.filter(([, path]) => path.includes('role-bindings'))) {
        const res = await app().json(method, path, { user: auditor, role: 'auditor', body })
        expectErrorShape(expect, res, 403, 'forbidden')
      }
    })

    test('members and auditors cannot open /admin/rbac; auditors can open /admin and /admin/audit', async () => {
      const member = freshUser('member')
      const auditor = freshUser('auditor')
      expectErrorShape(expect, await app().json('GET', '/admin/rbac', { user: member }), 403)
      expectErrorShape(expect, await app().json('GET', '/admin/rbac', { user: auditor, role: 'auditor' }), 403)
      expectErrorShape(expect, await app().json('GET', '/admin', { user: member }), 403)
      const dashboard = await app().call('GET', '/admin', { user: auditor, role: 'auditor' })
      expect(dashboard.status).toBe(200)
      const html = await dashboard.text()
      expect(html).toContain('href="/admin/audit"')
      expect(html).not.toContain('href="/admin/rbac"')
      expect((await app().call('GET', '/admin/audit', { user: auditor, role: 'auditor' })).status).toBe(200)
    })
  })

  describe('GET /api/admin/role-bindings', () => {
    test('lists bindings with their email, newest first, in the page shape; ADMIN_EMAILS shows as the grantor', async () => {
      const t = app()
      const first = freshUser('list-a')
      const second = freshUser('list-b')
      expect((await grant(t, first, 'auditor')).status).toBe(201)
      expect((await grant(t, second, 'auditor')).status).toBe(201)
      const res = await t.json('GET', '/api/admin/role-bindings', { user: ADMIN })
      expect(res.status).toBe(200)
      expect(Object.keys(res.body).sort()).toEqual(['items', 'limit', 'next_cursor'])
      expect(res.body.limit).toBe(25)
      for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(BINDING_KEYS)
      const emails = res.body.items.map((item: any) => item.email)
      expect(emails.indexOf(second)).toBeLessThan(emails.indexOf(first))
      const boss = res.body.items.find((item: any) => item.email === ADMIN)
      expect(boss).toMatchObject({ role: 'admin', created_by: 'ADMIN_EMAILS' })
      expect(boss.user_id).toMatch(UUID)
    })

    test('filters: user is a case-insensitive part of the email; role is exact; wildcards are literal', async () => {
      const t = app()
      const tag = `filt${Date.now().toString(36)}`
      await grant(t, `${tag}-one@example.com`, 'auditor')
      await grant(t, `${tag}-two@example.com`, 'ADMIN_AGENT')
      const byUser = await t.json('GET', `/api/admin/role-bindings?user=${tag.toUpperCase()}`, { user: ADMIN })
      expect(byUser.body.items.map((item: any) => item.email).sort()).toEqual([`${tag}-one@example.com`, `${tag}-two@example.com`])
      const byBoth = await t.json('GET', `/api/admin/role-bindings?user=${tag}&role=ADMIN_AGENT`, { user: ADMIN })
      expect(byBoth.body.items.map((item: any) => item.email)).toEqual([`${tag}-two@example.com`])
      const partialRole = await t.json('GET', `/api/admin/role-bindings?user=${tag}&role=ADMIN`, { user: ADMIN })
      expect(partialRole.body.items).toEqual([])
      for (const wildcard of ['%', '_', '\\'])
        expect((await t.json('GET', `/api/admin/role-bindings?user=${encodeURIComponent(wildcard)}`, { user: ADMIN })).body.items).toEqual([])
    })

    test('pagination: limit=500 → 200; limit=1 walks every binding once; bad limit and cursor are refused', async () => {
      const t = app()
      const tag = `page${Date.now().toString(36)}`
      for (let i = 0; i < 3; i++) await grant(t, `${tag}-${i}@example.com`, 'auditor')
      expect((await t.json('GET', '/api/admin/role-bindings?limit=500', { user: ADMIN })).body.limit).toBe(200)
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const path: string = `/api/admin/role-bindings?user=${tag}&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
        const res = await t.json('GET', path, { user: ADMIN })
        expect(res.status).toBe(200)
        expect(res.body.items.length).toBeLessThanOrEqual(1)
        seen.push(...res.body.items.map((item: any) => item.email))
        cursor = res.body.next_cursor
      } while (cursor && seen.length < 10)
      expect(seen).toEqual([2, 1, 0].map((i) => `${tag}-${i}@example.com`))
      expectErrorShape(expect, await t.json('GET', '/api/admin/role-bindings?limit=0', { user: ADMIN }), 422)
      expectErrorShape(expect, await t.json('GET', '/api/admin/role-bindings?cursor=nope', { user: ADMIN }), 400, 'invalid_cursor')
    })
  })

  describe('POST /api/admin/role-bindings', () => {
    test('201 with the binding; the user is created on first sight and holds the role at once', async () => {
      const t = app()
      const email = freshUser('newcomer')
      const res = await grant(t, email.toUpperCase(), 'auditor')
      expect(res.status).toBe(201)
      expect(Object.keys(res.body).sort()).toEqual(BINDING_KEYS)
      expect(res.body).toMatchObject({ email, role: 'auditor', created_by: ADMIN })
      expect(res.body.id).toMatch(UUID)
      expect(Math.abs(Date.parse(res.body.created_at) - Date.now())).toBeLessThan(60_000)
      const me = await t.json('GET', '/api/v1/me', { user: email })
      expect(me.body.id).toBe(res.body.user_id)
      expect(me.body.roles.sort()).toEqual(['auditor', 'user'])
      // Their creation is on the trail too, done by the admin in the same request.
      const created = await auditRows(t, 'user.created', res.headers.get('x-request-id')!)
      expect(created).toHaveLength(1)
      expect(created[0]!).toMatchObject({ actor: ADMIN, target: `user:${res.body.user_id}` })
    })

    test('the change and its audit event are written together, with the request id', async () => {
      const t = app()
      const email = freshUser('audited')
      const res = await grant(t, email, 'ADMIN_AGENT')
      expect(res.status).toBe(201)
      const events = await auditRows(t, 'role_binding.create', res.headers.get('x-request-id')!)
      expect(events).toHaveLength(1)
      expect(events[0]!).toMatchObject({ actor: ADMIN, role: 'admin', target: `user:${res.body.user_id}` })
      expect(events[0]!.metadata).toEqual({ email, role: 'ADMIN_AGENT' })
    })

    test('a duplicate is 409 and writes no second event', async () => {
      const t = app()
      const email = freshUser('dup')
      expect((await grant(t, email, 'auditor')).status).toBe(201)
      const again = await grant(t, email, 'auditor')
      expectErrorShape(expect, again, 409, 'role_binding_exists')
      expect(await auditRows(t, 'role_binding.create', again.headers.get('x-request-id')!)).toHaveLength(0)
    })

    test('an unknown role (superuser) is refused with 422 unknown_role naming the known ones, and writes nothing', async () => {
      const t = app()
      const email = freshUser('super')
      for (const role of ['superuser', 'Admin', 'payments-provider']) {
        const res = await grant(t, email, role)
        expectErrorShape(expect, res, 422, 'unknown_role')
        expect(res.body.error.message).toContain(`Invalid field "role": "${role}" is not a known role; choose one of auditor, admin, readonly, GODMODE, SUPER_ADMIN, ADMIN_AGENT, ops:read-only_2,`)
        expect(await auditRows(t, 'role_binding.create', res.headers.get('x-request-id')!)).toHaveLength(0)
      }
      expect((await t.json('GET', `/api/admin/role-bindings?user=${encodeURIComponent(email)}`, { user: ADMIN })).body.items).toEqual([])
      // The page offers exactly the known roles in a select.
      const page = await (await t.call('GET', '/admin/rbac', { user: ADMIN })).text()
      const select = /<select id="binding-role"[^>]*>([\s\S]*?)<\/select>/.exec(page)?.[1] ?? ''
      expect([...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1])).toEqual([
        '',
        'auditor',
        'admin',
        'readonly',
        'GODMODE',
        'SUPER_ADMIN',
        'ADMIN_AGENT',
        'ops:read-only_2',
        `A${'b'.repeat(63)}`,
      ])
    })

    test('422 naming the field for a bad role or email', async () => {
      const t = app()
      for (const role of ['', '9lives', 'has space', 'semi;colon', 'x'.repeat(65), 'user', '<b>'])
        for (const res of [await grant(t, freshUser(), role)]) {
          expectErrorShape(expect, res, 422)
          expect(res.body.error.message).toContain('role')
        }
      expect((await grant(t, freshUser(), `A${'b'.repeat(63)}`)).status).toBe(201)
      expect((await grant(t, freshUser(), 'ops:read-only_2')).status).toBe(201)
      expect((await grant(t, freshUser(), 'ADMIN_AGENT')).status).toBe(201)
      for (const email of ['', 'not-an-email', 'a@b@c', '<script>@example.com']) {
        const res = await grant(t, email, 'auditor')
        expectErrorShape(expect, res, 422)
        expect(res.body.error.message).toContain('email')
      }
      for (const body of [{}, { email: freshUser() }, { role: 'auditor' }, { email: 42, role: 'auditor' }])
        expectErrorShape(expect, await t.json('POST', '/api/admin/role-bindings', { user: ADMIN, body }), 422)
    })
  })

  describe('DELETE /api/admin/role-bindings/:id', () => {
    test('204; the binding is gone, the role no longer applies, and the event is written', async () => {
      const t = app()
      const email = freshUser('revoked')
      const created = await grant(t, email, 'auditor')
      expect((await t.json('GET', '/api/v1/me', { user: email })).body.roles).toContain('auditor')
      const res = await t.call('DELETE', `/api/admin/role-bindings/${created.body.id}`, { user: ADMIN })
      expect(res.status).toBe(204)
      expect(await res.text()).toBe('')
      expect((await t.json('GET', '/api/v1/me', { user: email })).body.roles).toEqual(['user'])
      const listed = await t.json('GET', `/api/admin/role-bindings?user=${encodeURIComponent(email)}`, { user: ADMIN })
      expect(listed.body.items).toEqual([])
      const events = await auditRows(t, 'role_binding.delete', res.headers.get('x-request-id')!)
      expect(events).toHaveLength(1)
      expect(events[0]!).toMatchObject({ actor: ADMIN, target: `user:${created.body.user_id}` })
      expect(events[0]!.metadata).toEqual({ email, role: 'auditor' })
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/role-bindings/${created.body.id}`, { user: ADMIN }), 404, 'not_found')
    })

    test('404 for an unknown or malformed id', async () => {
      for (const id of ['0190a0b0-0000-7000-8000-000000000000', 'nope', "1' or '1'='1"])
        expectErrorShape(expect, await app().json('DELETE', `/api/admin/role-bindings/${encodeURIComponent(id)}`, { user: ADMIN }), 404)
    })
  })

  describe('the last admin', () => {
    // An app of its own, so the number of admin bindings is known.
    const lone = useApp({ ADMIN_EMAILS: 'only-admin@example.com' })

    test('the last admin binding cannot be removed (409 last_admin); with a second admin it can', async () => {
      const t = lone()
      await t.json('GET', '/api/v1/me', { user: 'only-admin@example.com' })
      const admins = async () =>
        (await t.json('GET', '/api/admin/role-bindings?role=admin', { user: 'only-admin@example.com', role: 'admin' })).body.items
      const [only] = await admins()
      expect(only.email).toBe('only-admin@example.com')

      const refused = await t.json('DELETE', `/api/admin/role-bindings/${only.id}`, { user: 'only-admin@example.com' })
      expectErrorShape(expect, refused, 409, 'last_admin')
      expect(await admins()).toHaveLength(1)
      expect(await auditRows(t, 'role_binding.delete', refused.headers.get('x-request-id')!)).toHaveLength(0)

      const second = await grant(t, 'second-admin@example.com', 'admin', 'only-admin@example.com')
      expect(second.status).toBe(201)
      expect((await t.call('DELETE', `/api/admin/role-bindings/${only.id}`, { user: 'second-admin@example.com' })).status).toBe(204)
      // The first is no admin any more, at once.
      expectErrorShape(expect, await t.json('GET', '/api/admin/role-bindings', { user: 'only-admin@example.com' }), 403)
      expectErrorShape(expect, await t.json('DELETE', `/api/admin/role-bindings/${second.body.id}`, { user: 'second-admin@example.com' }), 409, 'last_admin')
    })

    test('two admins removing each other at once leave one admin', async () => {
      const t = lone()
      const a = freshUser('race-a')
      const b = freshUser('race-b')
      for (const email of [a, b])
        expect((await t.json('POST', '/api/admin/role-bindings', { user: 'granter@example.com', role: 'admin', body: { email, role: 'admin' } })).status).toBe(201)
      const all = (await t.json('GET', '/api/admin/role-bindings?role=admin', { user: a })).body.items
      // Remove every admin binding at once; one must survive.
      const results = await Promise.all(all.map((binding: any) => t.json('DELETE', `/api/admin/role-bindings/${binding.id}`, { user: a, role: 'admin' })))
      expect(results.filter((res) => res.status === 409).map((res) => res.body.error.code)).toEqual(['last_admin'])
      expect(results.filter((res) => res.status === 204)).toHaveLength(all.length - 1)
      expect((await t.json('GET', '/api/admin/role-bindings?role=admin', { user: a, role: 'admin' })).body.items).toHaveLength(1)
    })
  })

  describe('a granted role applies at once', () => {
    test('ADMIN_AGENT: a member gets 403 on the agent proxy, is granted the role, then gets 202; the audit API shows both with their request ids', async () => {
      const t = app()
      const member = freshUser('agent-op')
      // No X-Role here: real bindings only. Warm the identity cache with the member's current roles.
      const before = await t.json('POST', '/api/v1/agents/analyst/run', { user: member, body: { input: 'Summarise Q3.' } })
      expectErrorShape(expect, before, 403, 'forbidden')

      const granted = await grant(t, member, 'ADMIN_AGENT')
      expect(granted.status).toBe(201)
      const grantRequestId = granted.headers.get('x-request-id')!

      const after = await t.json('POST', '/api/v1/agents/analyst/run', { user: member, body: { input: 'Summarise Q3.' } })
      expect(after.status).toBe(202)
      expect(after.body.job_id).toMatch(UUID)
      const runRequestId = after.headers.get('x-request-id')!

      const binding = await t.json('GET', `/api/admin/audit?request_id=${grantRequestId}&action=role_binding.create`, { user: ADMIN })
      expect(binding.status).toBe(200)
      expect(binding.body.items).toHaveLength(1)
      expect(binding.body.items[0]).toMatchObject({
        action: 'role_binding.create',
        actor: ADMIN,
        role: 'admin',
        request_id: grantRequestId,
        metadata: { email: member, role: 'ADMIN_AGENT' },
      })

      const call = await t.json('GET', `/api/admin/audit?action=agent.call&actor=${encodeURIComponent(member)}`, { user: ADMIN })
      expect(call.body.items).toHaveLength(1)
      expect(call.body.items[0]).toMatchObject({
        action: 'agent.call',
        actor: member,
        role: 'ADMIN_AGENT',
        job_id: after.body.job_id,
        request_id: runRequestId,
        target: 'agent:analyst',
      })

      // Revoking applies at once too.
      expect((await t.call('DELETE', `/api/admin/role-bindings/${granted.body.id}`, { user: ADMIN })).status).toBe(204)
      expectErrorShape(expect, await t.json('POST', '/api/v1/agents/analyst/run', { user: member, body: { input: 'Again?' } }), 403)
    })
  })

  describe('page /admin/rbac', () => {
    test('lists bindings with remove buttons, an add form and a datalist of known roles; viewing is audited', async () => {
      const t = app()
      const email = freshUser('paged')
      await grant(t, email, 'auditor')
      const res = await t.call('GET', '/admin/rbac', { user: ADMIN, headers: { 'x-request-id': `rbac-view-${Date.now()}` } })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain('text/html')
      const html = await res.text()
      expect(html).toContain('<form id="rbac-add"')
      expect(html).toContain(email)
      expect(html).toMatch(/hx-post="\/admin\/rbac\/bindings\/[0-9a-f-]{36}\/delete"/)
      const options = [...html.matchAll(/<option value="([^"]+)"/g)].map((match) => match[1])
      for (const role of ['admin', 'auditor', 'readonly', ...t.config.agentRoleAllowlist]) expect(options).toContain(role)
      expect(options).not.toContain('user')
      await t.deps.audit.flush()
      const viewed = await auditRows(t, 'admin.view', res.headers.get('x-server-request-id')!)
      expect(viewed).toHaveLength(1)
      expect(viewed[0]!).toMatchObject({ actor: ADMIN, target: 'page:/admin/rbac' })
    })

    test('the htmx filter answers the results fragment only, filtered; values are escaped', async () => {
      const t = app()
      const tag = `frag${Date.now().toString(36)}`
      await grant(t, `${tag}@example.com`, 'auditor')
      const res = await t.call('GET', `/admin/rbac?filter_user=${tag}`, { user: ADMIN, headers: HTMX })
      expect(res.status).toBe(200)
      const html = await res.text()
      expect(html).toStartWith('<div id="binding-results">')
      expect(html).not.toContain('<html')
      expect(html).toContain(`${tag}@example.com`)
      expect(html.match(/data-binding-id=/g)).toHaveLength(1)
      const hostile = await t.call('GET', `/admin/rbac?filter_user=${encodeURIComponent('"><script>alert(1)</script>')}`, { user: ADMIN })
      const page = await hostile.text()
      // Inside the quoted attribute the markup is inert text; what matters is that the quote cannot close it.
      expect(page).not.toContain('"><script>')
      expect(page).toContain('value="&#34;><script>alert(1)</script>"')
    })

    test('add through the htmx form: the panel comes back with the binding; refusals show inline, keeping the input', async () => {
      const t = app()
      const email = freshUser('formed')
      const ok = await t.call('POST', '/admin/rbac/bindings', { user: ADMIN, headers: { ...FORM, ...HTMX }, body: form({ email, role: 'auditor' }) })
      expect(ok.status).toBe(200)
      const panel = await ok.text()
      expect(panel).toStartWith('<section id="rbac-panel">')
      expect(panel).toContain(`Granted auditor to ${email}.`)
      expect((await t.json('GET', '/api/v1/me', { user: email })).body.roles).toContain('auditor')

      const dup = await t.call('POST', '/admin/rbac/bindings', { user: ADMIN, headers: { ...FORM, ...HTMX }, body: form({ email, role: 'auditor' }) })
      expect(dup.status).toBe(409)
      const dupHtml = await dup.text()
      expect(dupHtml).toStartWith('<section id="rbac-panel">')
      expect(dupHtml).toContain('already holds the role')
      expect(dupHtml).toContain(`value="${email}"`)

      const bad = await t.call('POST', '/admin/rbac/bindings', { user: ADMIN, headers: { ...FORM, ...HTMX }, body: form({ email, role: '9 lives' }) })
      expect(bad.status).toBe(422)
      const badHtml = await bad.text()
      expect(badHtml).toContain('role="alert"')
      expect(badHtml).toContain('Invalid field &quot;role&quot;')
      expect(badHtml).toContain(`value="${email}"`)
      const unknown = await t.call('POST', '/admin/rbac/bindings', { user: ADMIN, headers: { ...FORM, ...HTMX }, body: form({ email, role: 'superuser' }) })
      expect(unknown.status).toBe(422)
      expect(await unknown.text()).toContain('&quot;superuser&quot; is not a known role')
    })

    test('remove through the page; the last admin is refused inline with 409', async () => {
      const t = app()
      const email = freshUser('page-remove')
      const created = await grant(t, email, 'auditor')
      const removed = await t.call('POST', `/admin/rbac/bindings/${created.body.id}/delete`, { user: ADMIN, headers: HTMX })
      expect(removed.status).toBe(200)
      expect(await removed.text()).toContain(`Removed auditor from ${email}.`)

      const lone = (await t.json('GET', '/api/admin/role-bindings?role=admin', { user: ADMIN })).body.items
      // Remove every other admin binding so the boss's is the last (other tests of this app may have added some).
      for (const binding of lone.filter((b: any) => b.email !== ADMIN)) await t.call('DELETE', `/api/admin/role-bindings/${binding.id}`, { user: ADMIN })
      const boss = lone.find((b: any) => b.email === ADMIN)
      const refused = await t.call('POST', `/admin/rbac/bindings/${boss.id}/delete`, { user: ADMIN, headers: HTMX })
      expect(refused.status).toBe(409)
      const html = await refused.text()
      expect(html).toStartWith('<section id="rbac-panel">')
      expect(html).toContain('last admin binding')
      expect(html).toContain('role="alert"')
    })

    test('a plain form post (no htmx) with the cookie needs the CSRF token, then redirects back with 303', async () => {
      const t = app()
      const { cookie, csrf } = await browserSession(t, ADMIN)
      const email = freshUser('cookie')
      const refused = await t.json('POST', '/admin/rbac/bindings', { headers: { ...FORM, cookie }, body: form({ email, role: 'auditor' }) })
      expectErrorShape(expect, refused, 403, 'csrf_failed')
      const ok = await t.call('POST', '/admin/rbac/bindings', { headers: { ...FORM, cookie }, body: form({ email, role: 'auditor', _csrf: csrf }) })
      expect(ok.status).toBe(303)
      expect(ok.headers.get('location')).toBe('/admin/rbac')
      // htmx sends the token as a header instead (the layout's hx-headers:inherited).
      const viaHeader = await t.call('POST', '/admin/rbac/bindings', {
        headers: { ...FORM, ...HTMX, cookie, 'x-csrf-token': csrf },
        body: form({ email: freshUser('cookie-htmx'), role: 'auditor' }),
      })
      expect(viaHeader.status).toBe(200)
      expect((await t.json('GET', '/api/v1/me', { user: email })).body.roles).toContain('auditor')
    })
  })
})
