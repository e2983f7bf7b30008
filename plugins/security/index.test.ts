/**
 * Security headers on a bare Elysia app: every response — a page, JSON, an
 * error, an unknown route — carries the CSP (own origin only, no inline script
 * or style, no framing), nosniff, DENY, no referrer; HSTS only when asked for.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { CONTENT_SECURITY_POLICY, securityHeaders } from '.'

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
