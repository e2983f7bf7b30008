/**
 * Webhook signatures (plugins/auth/signature.ts): `t=<unix>,v1=<hex>` over
 * `${t}.${rawBody}`, a tolerance either way, any of several v1 entries, and
 * refusals for every malformed header; and the event parser's refusals.
 */
import { describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { hexEqual, signWebhook, verifyWebhook } from '../../plugins/auth/signature'
import { AppError } from '../../src/errors'
import { parseWebhookEvent } from '../../src/modules/payments/webhook-event'

const SECRET = 'w'.repeat(40)
const BODY = '{"id":"evt_1","type":"payment.succeeded","data":{"payment_id":"p1"}}'
const NOW = 1_800_000_000

describe('verifyWebhook', () => {
  test('a fresh signature of the exact body verifies, and is the documented HMAC', () => {
    const header = signWebhook(SECRET, BODY, NOW)
    const hex = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex')
    expect(header).toBe(`t=${NOW},v1=${hex}`)
    expect(verifyWebhook(SECRET, header, BODY, 300, NOW)).toEqual({ ok: true, timestamp: NOW })
  })

  test('another body, another secret or another timestamp does not match', () => {
    const header = signWebhook(SECRET, BODY, NOW)
    expect(verifyWebhook(SECRET, header, `${BODY} `, 300, NOW)).toEqual({ ok: false, reason: 'mismatch' })
    expect(verifyWebhook('x'.repeat(40), header, BODY, 300, NOW)).toEqual({ ok: false, reason: 'mismatch' })
    const moved = header.replace(`t=${NOW}`, `t=${NOW + 1}`)
    expect(verifyWebhook(SECRET, moved, BODY, 300, NOW)).toEqual({ ok: false, reason: 'mismatch' })
  })

  test('outside the tolerance either way is refused, at the edge accepted', () => {
    expect(verifyWebhook(SECRET, signWebhook(SECRET, BODY, NOW - 300), BODY, 300, NOW).ok).toBe(true)
    expect(verifyWebhook(SECRET, signWebhook(SECRET, BODY, NOW - 301), BODY, 300, NOW)).toEqual({ ok: false, reason: 'outside_tolerance' })
    expect(verifyWebhook(SECRET, signWebhook(SECRET, BODY, NOW + 301), BODY, 300, NOW)).toEqual({ ok: false, reason: 'outside_tolerance' })
  })

  test('any one of several v1 signatures may match (secret rotation)', () => {
    const good = signWebhook(SECRET, BODY, NOW).split(',')[1]
    expect(verifyWebhook(SECRET, `t=${NOW},v1=${'0'.repeat(64)},${good}`, BODY, 300, NOW).ok).toBe(true)
  })

  test('malformed headers are refused', () => {
    const hex = 'a'.repeat(64)
    for (const header of [null, '', 'garbage', `v1=${hex}`, `t=${NOW}`, `t=abc,v1=${hex}`, `t=${NOW},v1=xyz`, `t=${NOW},v1=${hex}=x`, `t=${NOW},v1=${hex.toUpperCase()}`, 'x'.repeat(2000)])
      expect(verifyWebhook(SECRET, header, BODY, 300, NOW)).toEqual({ ok: false, reason: 'malformed' })
  })

  test('hexEqual compares whole strings of any length', () => {
    expect(hexEqual('abc', 'abc')).toBe(true)
    expect(hexEqual('abc', 'abd')).toBe(false)
    expect(hexEqual('abc', 'abcd')).toBe(false)
  })
})

describe('parseWebhookEvent', () => {
  test('reads the documented shape', () => {
    expect(parseWebhookEvent('{"id":"evt_9","type":"payment.failed","data":{"payment_id":"p-1","amount_cents":900,"provider_ref":"ch_1"}}')).toEqual({
      id: 'evt_9',
      type: 'payment.failed',
      paymentId: 'p-1',
      amountCents: 900,
      providerRef: 'ch_1',
    })
    expect(parseWebhookEvent(BODY)).toMatchObject({ amountCents: null, providerRef: null })
  })

  test('refuses anything else with 422 invalid_event', () => {
    const bad = [
      'not json',
      '[]',
      'null',
      '{"type":"payment.succeeded","data":{"payment_id":"p"}}',
      '{"id":"evt 1","type":"payment.succeeded","data":{"payment_id":"p"}}',
      '{"id":"e","type":"Payment Succeeded","data":{"payment_id":"p"}}',
      '{"id":"e","type":"payment.succeeded"}',
      '{"id":"e","type":"payment.succeeded","data":{"payment_id":"p;drop"}}',
      '{"id":"e","type":"payment.succeeded","data":{"payment_id":"p","amount_cents":"9"}}',
      '{"id":"e","type":"payment.succeeded","data":{"payment_id":"p","amount_cents":-1}}',
      `{"id":"e","type":"payment.succeeded","data":{"payment_id":"p","provider_ref":"${'r'.repeat(201)}"}}`,
    ]
    for (const body of bad) {
      let caught: unknown
      try {
        parseWebhookEvent(body)
      } catch (error) {
        caught = error
      }
      expect({ body, code: (caught as AppError | undefined)?.code, status: (caught as AppError | undefined)?.status }).toEqual({ body, code: 'invalid_event', status: 422 })
    }
  })
})
