/**
 * Identity from outside, dev mode: the dev login cookie with CSRF protection,
 * logout. Auth does not depend on the dialect, so these run on the embedded database.
 */
import { describe, expect, test } from 'bun:test'
import { csrfTokenFor, signSession } from '../../plugins/auth/cookie'
import type { TestApp } from '../helpers/app'
import { COOKIE_NAME, form, FORM } from './auth-support'
import { auditEvents, expectErrorShape, freshUser, useApp } from './support'

/** Logs in through POST /auth/dev-login and returns the cookie pair ("name=value") and the raw response. */
async function devLogin(t: TestApp, email: string, next?: string) {
  const res = await t.call('POST', '/auth/dev-login', { body: form(next ? { email, next } : { email }), headers: FORM })
  const setCookie = res.headers.getSetCookie().find((cookie) => cookie.startsWith(`${COOKIE_NAME}=`))
  return { res, setCookie, cookie: setCookie?.split(';')[0] ?? '' }
}

const cookieValue = (cookie: string) => decodeURIComponent(cookie.slice(COOKIE_NAME.length + 1))

describe('dev login (AUTH_MODE=dev)', () => {
  const app = useApp()

  test('POST /auth/dev-login sets an HttpOnly, SameSite cookie and answers 303 to next', async () => {
    const { res, setCookie } = await devLogin(app(), freshUser('login'), '/sessions/new')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/sessions/new')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(setCookie).toBeDefined()
    expect(setCookie).toMatch(/;\s*HttpOnly/i)
    expect(setCookie).toMatch(/;\s*SameSite=(Lax|Strict)/i)
    expect(setCookie).toMatch(/;\s*Path=\//i)
    expect(setCookie).toMatch(/;\s*Max-Age=\d+/i)
    // Not Secure in test: cookies over plain http must still work locally.
    expect(setCookie).not.toMatch(/;\s*Secure/i)
  })

  test('next defaults to /sessions, and off-site targets are refused (no open redirect)', async () => {
    const t = app()
    expect((await devLogin(t, freshUser())).res.headers.get('location')).toBe('/sessions')
    for (const next of ['//evil.example/x', 'https://evil.example/', 'javascript:alert(1)']) {
      const { res } = await devLogin(t, freshUser(), next)
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/sessions')
    }
  })

  test('htmx logins are redirected with HX-Redirect instead of 303', async () => {
    const res = await app().call('POST', '/auth/dev-login', {
      body: form({ email: freshUser(), next: '/sessions' }),
      headers: { ...FORM, 'hx-request': 'true' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('hx-redirect')).toBe('/sessions')
    expect(res.headers.getSetCookie().some((cookie) => cookie.startsWith(`${COOKIE_NAME}=`))).toBe(true)
  })

  test('an invalid email is 422 and sets no cookie', async () => {
    const { res, setCookie } = await devLogin(app(), 'not-an-email')
    expect(res.status).toBe(422)
    expect(setCookie).toBeUndefined()
  })

  test('a cross-site login POST is refused (login CSRF) and sets no cookie', async () => {
    const res = await app().call('POST', '/auth/dev-login', {
      body: form({ email: freshUser() }),
      headers: { ...FORM, origin: 'https://evil.example' },
    })
    const body = await res.json()
    expectErrorShape(expect, { status: res.status, body, headers: res.headers }, 403, 'csrf_failed')
    expect(res.headers.getSetCookie()).toEqual([])
  })

  test('the cookie authenticates GET /api/v1/me as the logged-in user', async () => {
    const t = app()
    const email = freshUser('cookie')
    const { cookie } = await devLogin(t, email.toUpperCase())
    const me = await t.json('GET', '/api/v1/me', { headers: { cookie } })
    expect(me.status).toBe(200)
    expect(me.body.external_id).toBe(email)
    expect(me.body.roles).toContain('user')
    // The same person through X-User-Id is the same user.
    const viaHeader = await t.json('GET', '/api/v1/me', { user: email })
    expect(viaHeader.body.id).toBe(me.body.id)
  })

  test('the login is audited', async () => {
    const t = app()
    const email = freshUser('audit')
    const { res } = await devLogin(t, email)
    const events = (await auditEvents(t, { actor: email })).filter((event) => event.actor === email)
    const login = events.find((event) => event.action === 'login')
    expect(login).toBeDefined()
    expect(login!.requestId).toBe(res.headers.get('x-request-id'))
  })

  test('a cookie-authenticated POST without X-CSRF-Token is 403 csrf_failed and creates nothing', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('csrf'))
    const res = await t.json('POST', '/api/v1/sessions', { headers: { cookie }, body: { question: 'Forged?' } })
    expectErrorShape(expect, res, 403, 'csrf_failed')
    const list = await t.json('GET', '/api/v1/sessions', { headers: { cookie } })
    expect(list.body.items).toEqual([])
  })

  test('a cookie-authenticated DELETE without the token is refused too', async () => {
    const t = app()
    const email = freshUser('csrfdel')
    const { cookie } = await devLogin(t, email)
    const created = await t.json('POST', '/api/v1/sessions', { user: email, body: { question: 'Keep?' } })
    const res = await t.json('DELETE', `/api/v1/sessions/${created.body.id}`, { headers: { cookie } })
    expectErrorShape(expect, res, 403, 'csrf_failed')
    expect((await t.json('GET', `/api/v1/sessions/${created.body.id}`, { headers: { cookie } })).status).toBe(200)
  })

  test('with the token rendered on the page (hx-headers and hidden _csrf) the POST is 201', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('token'))
    const page = await t.call('GET', '/sessions', { headers: { cookie, accept: 'text/html' } })
    expect(page.status).toBe(200)
    const html = await page.text()
    const fromHidden = /name="_csrf"\s+value="([^"]+)"/.exec(html)?.[1]
    const fromHxHeaders = /X-CSRF-Token&#34;:&#34;([^&]+)&#34;/.exec(html)?.[1] ?? /"X-CSRF-Token":"([^"]+)"/.exec(html)?.[1]
    expect(fromHidden).toBeTruthy()
    expect(fromHxHeaders).toBe(fromHidden!)
    // The token the page carries is the one bound to this cookie.
    expect(fromHidden).toBe(csrfTokenFor(t.config.auth.sessionSecret, cookieValue(cookie)))
    const res = await t.json('POST', '/api/v1/sessions', {
      headers: { cookie, 'x-csrf-token': fromHidden! },
      body: { question: 'With a token?' },
    })
    expect(res.status).toBe(201)
  })

  test('the token may come as a _csrf form field instead of the header', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('formtoken'))
    const token = csrfTokenFor(t.config.auth.sessionSecret, cookieValue(cookie))
    const res = await t.call('POST', '/api/v1/sessions', {
      headers: { cookie, ...FORM },
      body: form({ question: 'From a form?', _csrf: token }),
    })
    expect(res.status).toBe(201)
  })

  test("another session's CSRF token does not work", async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('mine'))
    const { cookie: otherCookie } = await devLogin(t, freshUser('theirs'))
    const foreignToken = csrfTokenFor(t.config.auth.sessionSecret, cookieValue(otherCookie))
    const res = await t.json('POST', '/api/v1/sessions', {
      headers: { cookie, 'x-csrf-token': foreignToken },
      body: { question: 'Whose token?' },
    })
    expectErrorShape(expect, res, 403, 'csrf_failed')
  })

  test('a tampered cookie is ignored: 401', async () => {
    const t = app()
    const email = freshUser('tamper')
    const { cookie } = await devLogin(t, email)
    const [encoded, expires, signature] = cookieValue(cookie).split('.') as [string, string, string]
    const forgedEmail = `${Buffer.from('boss@example.com').toString('base64url')}.${expires}.${signature}`
    const flipped = `${encoded}.${expires}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`
    for (const value of [forgedEmail, flipped, 'garbage', `${encoded}.${expires}`]) {
      const res = await t.json('GET', '/api/v1/me', { headers: { cookie: `${COOKIE_NAME}=${value}` } })
      expectErrorShape(expect, res, 401, 'unauthenticated')
    }
  })

  test('a cookie signed with another secret, or expired, is ignored: 401', async () => {
    const t = app()
    const otherSecret = signSession('x'.repeat(40), freshUser(), 60_000)
    const expired = signSession(t.config.auth.sessionSecret, freshUser(), 60_000, Date.now() - 120_000)
    for (const value of [otherSecret, expired]) {
      const res = await t.json('GET', '/api/v1/me', { headers: { cookie: `${COOKIE_NAME}=${value}` } })
      expectErrorShape(expect, res, 401)
    }
  })

  test('a CSRF header with non-ASCII characters is a 403, not a 500', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('unicode'))
    const token = csrfTokenFor(t.config.auth.sessionSecret, cookieValue(cookie))
    const res = await t.json('POST', '/api/v1/sessions', {
      headers: { cookie, 'x-csrf-token': 'é'.repeat(token.length) },
      body: { question: 'Unicode token?' },
    })
    expectErrorShape(expect, res, 403, 'csrf_failed')
  })

  test('a cookie signature with non-ASCII characters is a 401, not a 500', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('unicode2'))
    const [encoded, expires, signature] = cookieValue(cookie).split('.') as [string, string, string]
    const forged = `${encoded}.${expires}.${encodeURIComponent('é')}${signature.slice(1)}`
    const res = await t.json('GET', '/api/v1/me', { headers: { cookie: `${COOKIE_NAME}=${forged}` } })
    expectErrorShape(expect, res, 401)
  })

  test('logout needs the CSRF token, then clears the cookie', async () => {
    const t = app()
    const { cookie } = await devLogin(t, freshUser('logout'))
    const refused = await t.call('POST', '/auth/logout', { headers: { cookie } })
    expect(refused.status).toBe(403)
    const token = csrfTokenFor(t.config.auth.sessionSecret, cookieValue(cookie))
    const res = await t.call('POST', '/auth/logout', { headers: { cookie, ...FORM }, body: form({ _csrf: token }) })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login')
    const cleared = res.headers.getSetCookie().find((value) => value.startsWith(`${COOKIE_NAME}=`))
    expect(cleared).toBeDefined()
    expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i)
  })

  test('a bearer token is refused in dev mode when no JWT source is configured', async () => {
    const res = await app().json('GET', '/api/v1/me', { headers: { authorization: 'Bearer abc.def.ghi' } })
    expectErrorShape(expect, res, 401)
  })
})
