/**
 * The provider's event, as this server understands it (docs/PAYMENTS.md):
 *
 *   { "id": "evt_…", "type": "payment.succeeded" | "payment.failed" | …,
 *     "data": { "payment_id": "<our payment id>", "amount_cents"?: 900, "provider_ref"?: "ch_…" } }
 *
 * Other types are acknowledged and ignored, as providers send many.
 */
import { unprocessable } from '../../errors'

export interface WebhookEvent {
  id: string
  type: string
  paymentId: string
  amountCents: number | null
  providerRef: string | null
}

const EVENT_ID = /^[A-Za-z0-9_.:-]{1,200}$/
const TYPE = /^[a-z][a-z0-9_.]{0,99}$/
const PAYMENT_ID = /^[A-Za-z0-9_-]{1,64}$/

const invalid = (message: string) => unprocessable('invalid_event', `The webhook event is invalid: ${message}.`)

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * @example
 * const event = parseWebhookEvent('{"id":"evt_1","type":"payment.succeeded","data":{"payment_id":"…"}}')
 */
export function parseWebhookEvent(rawBody: string): WebhookEvent {
  let parsed: unknown
  try {
    parsed = JSON.parse(rawBody)
  } catch {
    throw invalid('the body is not JSON')
  }
  if (!isRecord(parsed)) throw invalid('the body must be a JSON object')
  const { id, type, data } = parsed
  if (typeof id !== 'string' || !EVENT_ID.test(id)) throw invalid('"id" must be 1–200 letters, digits or _ . : -')
  if (typeof type !== 'string' || !TYPE.test(type)) throw invalid('"type" must be an event type such as payment.succeeded')
  if (!isRecord(data)) throw invalid('"data" must be an object')
  const { payment_id: paymentId, amount_cents: amountCents, provider_ref: providerRef } = data
  if (typeof paymentId !== 'string' || !PAYMENT_ID.test(paymentId)) throw invalid('"data.payment_id" must be the id checkout returned')
  if (amountCents !== undefined && (typeof amountCents !== 'number' || !Number.isInteger(amountCents) || amountCents < 0))
    throw invalid('"data.amount_cents" must be a whole number of cents')
  if (providerRef !== undefined && (typeof providerRef !== 'string' || providerRef.length > 200))
    throw invalid('"data.provider_ref" must be a string of at most 200 characters')
  return { id, type, paymentId, amountCents: amountCents ?? null, providerRef: providerRef ?? null }
}
