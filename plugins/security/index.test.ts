/**
 * Security headers on a bare Elysia app: every response — a page, JSON, an
 * error, an unknown route — carries the CSP (own origin only, no inline script
 * or style, no framing), nosniff, DENY, no referrer; HSTS only when asked for.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { errors } from '../errors'
import { createLogger } from '../logging/logger'
import { CONTENT_SECURITY_POLICY, nulField, securityHeaders } from '.'

const build = (hsts: boolean) =>
  new Elysia()
    .use(securityHeaders({ hsts }))
    .get('/', () => 'ok')
    .get('/fails', () => {
      throw new Error('boom')
    })

const headersOf = async (app: ReturnType<typeof build>, path: string) => (await app.handle(new Request(`http://localhost${path}`))).headers

describe('security headers', () => {
  test('on a normal response, an error and an unknown route', async () => {
    const app = build(false)
    for (const path of ['/', '/fails', '/nowhere']) {
      const headers = await headersOf(app, path)
      expect(headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
      expect(headers.get('x-content-type-options')).toBe('nosniff')
      expect(headers.get('x-frame-options')).toBe('DENY')
      expect(headers.get('referrer-policy')).toBe('no-referrer')
      expect(headers.get('cross-origin-opener-policy')).toBe('same-origin')
      expect(headers.get('permissions-policy')).toContain('camera=()')
      expect(headers.get('strict-transport-security')).toBeNull()
    }
  })

  test('the CSP allows only the own origin: no inline script or style, no framing, no plugins', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split('; ').map((part) => [part.split(' ')[0], part.split(' ').slice(1).join(' ')]))
    expect(directives).toMatchObject({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'object-src': "'none'",
      'frame-ancestors': "'none'",
    })
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline')
  })

  test('HSTS when asked for (production)', async () => {
    expect((await headersOf(build(true), '/')).get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
  })
})

describe('NUL characters in requests (issue 14 fuzzing: PostgreSQL answered 500 to them)', () => {
  const app = new Elysia()
    .use(errors({ logger: createLogger({ level: 'error', sink: () => {} }) }))
    .use(securityHeaders({ hsts: false }))
    .get('/items/:id', ({ params }) => params.id)
    .get('/search', ({ query }) => query.q ?? '')
    .post('/items', ({ body }) => body as Record<string, unknown>)
  const call = async (path: string, init?: RequestInit) => {
    const res = await app.handle(new Request(`http://localhost${path}`, init))
    return { status: res.status, body: (await res.json().catch(() => null)) as any }
  }
  const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  test('a NUL in a path segment, a query value or key, or any body field is 422 invalid_characters naming where', async () => {
    for (const [path, init, where] of [
      ['/items/a%00b', undefined, 'path field "id"'],
      ['/search?q=%00', undefined, 'query field "q"'],
      ['/search?a%00=1', undefined, 'query field "a\\0"'],
      ['/items', json({ title: 'ok', tags: ['fine', 'bad\u0000'] }), 'body field "tags.1"'],
      ['/items', json({ nested: { deeper: { text: '\u0000' } } }), 'body field "nested.deeper.text"'],
    ] as const) {
      const res = await call(path, init)
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 422, code: 'invalid_characters' })
      expect(res.body.error.message).toContain(where)
    }
  })

  test('text without NUL, and files that hold NUL bytes, pass', async () => {
    expect((await call('/items/a%20b')).status).toBe(200)
    expect((await call('/search?q=%E2%80%AE%F0%9F%98%80')).status).toBe(200)
    expect((await call('/items', json({ title: 'ok \uD800 \u202e' }))).status).toBe(200)
    expect(nulField({ file: new File(['\u0000\u0000'], 'a.bin') })).toBeNull()
    expect(nulField({ list: [{ a: 'x' }, { b: 'y\u0000' }] })).toBe('list.1.b')
  })
})
