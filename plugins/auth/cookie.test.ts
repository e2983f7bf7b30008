/**
 * The dev-login cookie and the CSRF token (plugins/auth/cookie.ts): signed with
 * SESSION_SECRET, expiring, tamper-evident, compared in constant time; the CSRF
 * token is bound to the one cookie it protects. Bad input is "invalid", never a throw.
 */
import { describe, expect, test } from 'bun:test'
import { csrfTokenFor, signSession, verifyCsrf, verifySession } from './cookie'

const SECRET = 'a-test-session-secret-of-32-chars!!'
const OTHER_SECRET = 'another-session-secret-of-32-chars!'
const NOW = 1_800_000_000_000
const HOUR = 60 * 60 * 1000

describe('signSession / verifySession', () => {
  test('a signed cookie verifies to its email', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    expect(verifySession(SECRET, cookie, NOW + 1)).toBe('alice@example.com')
  })

  test('emails with dots and plus signs survive the round trip', () => {
    const email = 'first.last+tag@sub.example.co.uk'
    expect(verifySession(SECRET, signSession(SECRET, email, HOUR, NOW), NOW)).toBe(email)
  })

  test('the cookie does not carry the email in clear, and has three dot-separated parts', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    expect(cookie).not.toContain('alice@example.com')
    expect(cookie.split('.')).toHaveLength(3)
  })

  test('it expires: valid until the expiry instant, invalid from then on', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    expect(verifySession(SECRET, cookie, NOW + HOUR - 1)).toBe('alice@example.com')
    expect(verifySession(SECRET, cookie, NOW + HOUR)).toBeNull()
    expect(verifySession(SECRET, cookie, NOW + 2 * HOUR)).toBeNull()
  })

  test('a cookie signed with another secret is rejected', () => {
    const cookie = signSession(OTHER_SECRET, 'alice@example.com', HOUR, NOW)
    expect(verifySession(SECRET, cookie, NOW)).toBeNull()
  })

  test('changing the email is detected', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    const [, expires, signature] = cookie.split('.')
    const forged = `${Buffer.from('admin@example.com').toString('base64url')}.${expires}.${signature}`
    expect(verifySession(SECRET, forged, NOW)).toBeNull()
  })

  test('extending the expiry is detected', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    const [email, expires, signature] = cookie.split('.')
    const forged = `${email}.${Number(expires) + 365 * 24 * HOUR}.${signature}`
    expect(verifySession(SECRET, forged, NOW + 2 * HOUR)).toBeNull()
  })

  test('a flipped signature character is detected', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    const last = cookie.at(-1) === 'A' ? 'B' : 'A'
    expect(verifySession(SECRET, cookie.slice(0, -1) + last, NOW)).toBeNull()
  })

  test('malformed values are invalid, not errors', () => {
    for (const value of ['', 'abc', 'a.b', 'a.b.c.d', '..', 'x.NaN.y', signSession(SECRET, 'a@b.c', HOUR, NOW) + '.extra'])
      expect(verifySession(SECRET, value, NOW)).toBeNull()
  })

  test('a non-expiring value cannot be forged with a non-numeric expiry', () => {
    // Number("Infinity") > now; the MAC still has to match, which it cannot without the secret.
    const email = Buffer.from('alice@example.com').toString('base64url')
    expect(verifySession(SECRET, `${email}.Infinity.AAAA`, NOW)).toBeNull()
  })

  test('a signature with non-ASCII characters of the right length is invalid, not a crash', () => {
    const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)
    const [email, expires, signature] = cookie.split('.') as [string, string, string]
    // Same number of characters as a real signature, but more bytes: must be rejected, not throw.
    const forged = `${email}.${expires}.é${signature.slice(1)}`
    let result = 'not called' as string | null
    expect(() => {
      result = verifySession(SECRET, forged, NOW)
    }).not.toThrow()
    expect(result).toBeNull()
  })
})

describe('CSRF token', () => {
  const cookie = signSession(SECRET, 'alice@example.com', HOUR, NOW)

  test('is deterministic for one cookie and verifies', () => {
    const token = csrfTokenFor(SECRET, cookie)
    expect(csrfTokenFor(SECRET, cookie)).toBe(token)
    expect(verifyCsrf(SECRET, cookie, token)).toBe(true)
  })

  test('is bound to the cookie: another session’s token does not verify', () => {
    const otherCookie = signSession(SECRET, 'bob@example.com', HOUR, NOW)
    const otherToken = csrfTokenFor(SECRET, otherCookie)
    expect(otherToken).not.toBe(csrfTokenFor(SECRET, cookie))
    expect(verifyCsrf(SECRET, cookie, otherToken)).toBe(false)
  })

  test('is bound to the secret', () => {
    expect(verifyCsrf(SECRET, cookie, csrfTokenFor(OTHER_SECRET, cookie))).toBe(false)
  })

  test('is not the cookie itself nor its signature', () => {
    const token = csrfTokenFor(SECRET, cookie)
    expect(token).not.toBe(cookie)
    expect(token).not.toBe(cookie.split('.')[2])
    expect(verifyCsrf(SECRET, cookie, cookie)).toBe(false)
  })

  test('missing, empty, truncated or altered tokens fail', () => {
    const token = csrfTokenFor(SECRET, cookie)
    expect(verifyCsrf(SECRET, cookie, undefined)).toBe(false)
    expect(verifyCsrf(SECRET, cookie, null)).toBe(false)
    expect(verifyCsrf(SECRET, cookie, '')).toBe(false)
    expect(verifyCsrf(SECRET, cookie, token.slice(0, -1))).toBe(false)
    expect(verifyCsrf(SECRET, cookie, token + 'x')).toBe(false)
    expect(verifyCsrf(SECRET, cookie, token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase())).toBe(false)
  })

  test('a token with non-ASCII characters of the right length fails, not throws', () => {
    const token = csrfTokenFor(SECRET, cookie)
    let result = null as boolean | null
    expect(() => {
      result = verifyCsrf(SECRET, cookie, 'é'.repeat(token.length))
    }).not.toThrow()
    expect(result).toBe(false)
  })
})
