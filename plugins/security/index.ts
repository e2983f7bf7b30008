/**
 * Security headers on every response: a CSP that allows only the app's own
 * origin (no inline script or style), no framing, no sniffing, no referrer
 * leakage; HSTS in production. And one refusal for every route: a NUL
 * character in a path segment, a query value or a body field is a 422
 * `invalid_characters` before validation and the handler (PostgreSQL cannot
 * store or even compare it, libsql would; no field of this app needs one).
 */
import { Elysia } from 'elysia'
import { AppError } from '../../src/errors'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** The headers every response carries (HSTS in production). */
export const securityHeaderValues = (hsts: boolean): Record<string, string> => ({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  ...(hsts ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
})

/** The dotted name of the first string (or key) holding a NUL, searched to a bounded depth; null when there is none. */
export function nulField(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null
  if (depth > 8 || value === null || typeof value !== 'object' || value instanceof Blob) return null
  for (const [key, item] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key
    if (key.includes('\u0000')) return where
    const found = nulField(item, where, depth + 1)
    if (found !== null) return found
  }
  return null
}

/**
 * @example
 * new Elysia().use(securityHeaders({ hsts: true }))
 */
export const securityHeaders = ({ hsts }: { hsts: boolean }) => {
  const values = securityHeaderValues(hsts)
  return new Elysia({ name: 'plugin/security', seed: { hsts } })
    .onRequest(({ set }) => {
      Object.assign(set.headers, values)
    })
    .onTransform(({ params, query, body }) => {
      for (const [where, value] of [['path', params], ['query', query], ['body', body]] as const) {
        const field = nulField(value)
        if (field !== null)
          throw new AppError(422, 'invalid_characters', `The ${where} ${field ? `field "${field.replace(/\u0000/g, '\\0')}"` : 'value'} contains a NUL character; remove it and try again.`)
      }
    })
    .as('global')
}
