/**
 * Signed values for the dev-login cookie and the CSRF token: HMAC-SHA256 over
 * the value with SESSION_SECRET, compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

const mac = (secret: string, value: string) => createHmac('sha256', secret).update(value).digest('base64url')

/** Compares bytes, not characters: a non-ASCII value must not make timingSafeEqual throw. */
const equal = (a: string, b: string) => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** `email.expiresAtMs.signature`, the email base64url-encoded. */
export function signSession(secret: string, email: string, ttlMs: number, now = Date.now()): string {
  const payload = `${Buffer.from(email).toString('base64url')}.${now + ttlMs}`
  return `${payload}.${mac(secret, payload)}`
}

export function verifySession(secret: string, value: string, now = Date.now()): string | null {
  const parts = value.split('.')
  if (parts.length !== 3) return null
  const [encoded, expires, signature] = parts as [string, string, string]
  if (!equal(signature, mac(secret, `${encoded}.${expires}`))) return null
  if (!(Number(expires) > now)) return null
  return Buffer.from(encoded, 'base64url').toString()
}

/** When a session value (already verified) expires, in ms since the epoch. */
export const expiryOf = (value: string): number => Number(value.split('.')[1])

/** The CSRF token is bound to the session cookie it protects. */
export const csrfTokenFor = (secret: string, sessionCookie: string) => mac(secret, `csrf:${sessionCookie}`)

export const verifyCsrf = (secret: string, sessionCookie: string, token: string | undefined | null) =>
  !!token && equal(token, csrfTokenFor(secret, sessionCookie))
