/**
 * Signed webhooks, the way a payment provider calls us. The provider sends
 * `X-Signature: t=<unix seconds>,v1=<hex>` where the hex is
 * HMAC-SHA256(secret, `${t}.${rawBody}`) — the format Stripe uses, so the
 * timestamp is signed with the body and an old capture cannot be replayed once
 * it is outside the tolerance. Several `v1=` entries may be sent while a secret
 * is rotated; any one matching is enough. Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'x-signature'

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed' | 'outside_tolerance' | 'mismatch' }

const hmacHex = (secret: string, payload: string) => createHmac('sha256', secret).update(payload).digest('hex')

/**
 * The header value for `rawBody`, signed now (or at `timestamp`, in seconds).
 * @example
 * fetch(url, { method: 'POST', body, headers: { 'x-signature': signWebhook(secret, body) } })
 */
export function signWebhook(secret: string, rawBody: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmacHex(secret, `${timestamp}.${rawBody}`)}`
}

/** True when the two hex strings are equal, in time that does not depend on where they differ. */
export function hexEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8')
  const right = Buffer.from(b, 'utf8')
  return left.length === right.length && timingSafeEqual(left, right)
}

/**
 * Checks a webhook's signature header against its raw body.
 * @example
 * const check = verifyWebhook(secret, request.headers.get('x-signature'), rawBody, 300)
 * if (!check.ok) throw unauthenticated(check.reason)
 */
export function verifyWebhook(
  secret: string,
  header: string | null,
  rawBody: string,
  toleranceSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  if (!header || header.length > 1024) return { ok: false, reason: 'malformed' }
  let timestamp: number | null = null
  const signatures: string[] = []
  for (const part of header.split(',')) {
    const [key, value, ...rest] = part.trim().split('=')
    if (!key || value === undefined || rest.length > 0) return { ok: false, reason: 'malformed' }
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value)
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) signatures.push(value)
  }
  if (timestamp === null || signatures.length === 0) return { ok: false, reason: 'malformed' }
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'outside_tolerance' }
  const expected = hmacHex(secret, `${timestamp}.${rawBody}`)
  // Every candidate is compared (no early exit), so the time taken says nothing about which matched.
  let matched = false
  for (const signature of signatures) matched = hexEqual(expected, signature) || matched
  return matched ? { ok: true, timestamp } : { ok: false, reason: 'mismatch' }
}
