/**
 * Payments unlock priced palettes. Checkout records a pending payment; it is
 * settled either by the provider's signed webhook (plugins/auth/signature.ts
 * checks the signature before the route runs) or, for development and tests,
 * by `confirm` with the dev proof — an HMAC of the payment id under
 * PAYMENTS_PROOF_SECRET that checkout hands out outside production only.
 *
 * Deliveries can be replayed, duplicated or reordered, so every step is
 * idempotent: an event id is processed once (payment_events), a payment moves
 * to `succeeded` once and never back (a late `payment.failed` is ignored), and
 * the entitlement is one row per user and palette. Each step is audited in the
 * transaction that makes it; no secret, proof or signature reaches the trail.
 */
import { createHmac } from 'node:crypto'
import { isId, newId } from '../../../db/client'
import type { PaymentRow } from '../../../db/schema'
import type { AuditEvent, AuditLog } from '../../../plugins/audit'
import { hexEqual } from '../../../plugins/auth/signature'
import type { RequestMeta } from '../../../plugins/rbac'
import type { Config } from '../../config'
import { AppError, conflict, forbidden, notFound, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import type { Stores, TxStores } from '../../stores'
import type { CheckoutView, ConfirmView, WebhookResult } from './model'
import { parseWebhookEvent } from './webhook-event'

export interface PaymentsDeps {
  stores: Stores
  audit: AuditLog
  config: Pick<Config, 'env' | 'payments'>
}

const notConfigured = (variable: string) =>
  new AppError(503, 'payments_not_configured', `Payments are not configured on this server (${variable} is not set).`)

/**
 * @example
 * const payments = createPaymentsService({ stores, audit, config })
 * const { payment_id, dev_proof } = await payments.checkout(actor, 'expert-panel', meta)
 * await payments.confirm(actor, { payment_id, proof: dev_proof! }, meta)
 */
export function createPaymentsService({ stores, audit, config }: PaymentsDeps) {
  const { webhookSecret, proofSecret } = config.payments
  const production = config.env === 'production'

  const proofOf = (secret: string, paymentId: string) => createHmac('sha256', secret).update(`payment:${paymentId}`).digest('hex')

  /**
   * Marks the payment succeeded (if it was not) and grants its palette (if not
   * granted): safe to run again for the same payment, from any source.
   */
  const succeed = async (tx: TxStores, payment: PaymentRow, by: Omit<AuditEvent, 'action'>, source: string, providerRef: string | null) => {
    const now = new Date()
    const moved = await tx.payments.settle(payment.id, 'succeeded', providerRef, now)
    const facts = { payment_id: payment.id, palette_id: payment.paletteId, amount_cents: payment.amountCents, source }
    if (moved) await audit.record({ ...by, action: 'payment.succeeded', target: `payment:${payment.id}`, metadata: facts }, tx)
    const granted = await tx.payments.grant({ id: newId(), userId: payment.userId, paletteId: payment.paletteId, paymentId: payment.id, grantedAt: now })
    if (granted) await audit.record({ ...by, action: 'entitlement.granted', target: `user:${payment.userId}`, metadata: facts }, tx)
    return { moved: Boolean(moved), granted }
  }

  return {
    /** Whether checkout hands out a dev proof (never in production). */
    devProofs: !production && proofSecret !== null,

    async checkout(actor: Actor, paletteId: string, meta: RequestMeta): Promise<CheckoutView> {
      if (production && !webhookSecret) throw notConfigured('PAYMENTS_WEBHOOK_SECRET')
      const palette = await stores.catalog.palette(paletteId)
      if (!palette) throw unprocessable('unknown_palette', `There is no palette "${paletteId}"; see GET /api/v1/palettes.`)
      if (palette.priceCents === 0) throw conflict('palette_free', `The palette "${palette.name}" is free; there is nothing to pay.`)
      if (await stores.payments.entitlement(actor.userId, palette.id))
        throw conflict('already_unlocked', `You have already unlocked the palette "${palette.name}".`)
      const now = new Date()
      const payment: PaymentRow = {
        id: newId(),
        userId: actor.userId,
        paletteId: palette.id,
        amountCents: palette.priceCents,
        status: 'pending',
        providerRef: null,
        createdAt: now,
        updatedAt: now,
      }
      await stores.transaction(async (tx) => {
        await tx.payments.insertPayment(payment)
        await audit.record(
          {
            ...meta.audit,
            action: 'payment.checkout',
            target: `payment:${payment.id}`,
            metadata: { palette_id: palette.id, amount_cents: payment.amountCents },
          },
          tx,
        )
      })
      const view: CheckoutView = { payment_id: payment.id, status: 'pending', palette_id: palette.id, amount_cents: payment.amountCents }
      if (!production && proofSecret) view.dev_proof = proofOf(proofSecret, payment.id)
      return view
    },

    /** Settles the caller's payment with its proof; again for a settled one answers the same. A wrong proof changes nothing. */
    async confirm(actor: Actor, input: { payment_id: string; proof: string }, meta: RequestMeta): Promise<ConfirmView> {
      if (!isId(input.payment_id)) throw notFound('Payment')
      const payment = await stores.payments.payment(input.payment_id)
      if (!payment || payment.userId !== actor.userId) throw notFound('Payment')
      if (!proofSecret) throw notConfigured('PAYMENTS_PROOF_SECRET')
      const target = `payment:${payment.id}`
      if (!hexEqual(proofOf(proofSecret, payment.id), input.proof.trim().toLowerCase())) {
        await audit.record({ ...meta.audit, action: 'payment.confirm_refused', target, metadata: { palette_id: payment.paletteId } })
        throw forbidden('The payment proof does not match this payment; nothing was changed.', 'invalid_proof')
      }
      await stores.transaction(async (tx) => {
        await audit.record({ ...meta.audit, action: 'payment.confirm', target, metadata: { palette_id: payment.paletteId } }, tx)
        await succeed(tx, payment, meta.audit, 'dev_proof', null)
      })
      return { payment_id: payment.id, palette_id: payment.paletteId, status: 'succeeded', unlocked: true }
    },

    /**
     * One provider event, already authenticated by its signature. Recorded by
     * event id in the same transaction as its effect, so a redelivery finds it
     * and changes nothing; an event for an unknown payment or a different
     * amount is refused and not recorded.
     */
    async webhook(rawBody: string, meta: RequestMeta): Promise<WebhookResult> {
      const event = parseWebhookEvent(rawBody)
      return stores.transaction(async (tx) => {
        const received = (outcome: WebhookResult['outcome'], payment?: PaymentRow) =>
          audit.record(
            {
              ...meta.audit,
              action: 'payment.webhook',
              target: payment ? `payment:${payment.id}` : `payment:${event.paymentId}`,
              metadata: { event_id: event.id, type: event.type, outcome },
            },
            tx,
          )
        const result = (outcome: WebhookResult['outcome'], status: string | null): WebhookResult => ({
          received: true,
          event_id: event.id,
          outcome,
          payment_status: status,
        })

        const fresh = await tx.payments.recordEvent({ id: event.id, paymentId: event.paymentId, type: event.type, receivedAt: new Date() })
        if (!fresh) {
          await received('duplicate')
          return result('duplicate', (await tx.payments.payment(event.paymentId))?.status ?? null)
        }
        if (event.type !== 'payment.succeeded' && event.type !== 'payment.failed') {
          await received('ignored')
          return result('ignored', null)
        }
        const payment = await tx.payments.payment(event.paymentId)
        if (!payment) throw notFound('Payment')
        if (event.amountCents !== null && event.amountCents !== payment.amountCents)
          throw unprocessable('amount_mismatch', `The event is for ${event.amountCents} cents; the payment is for ${payment.amountCents}. Nothing was changed.`)

        if (event.type === 'payment.succeeded') {
          const { moved, granted } = await succeed(tx, payment, meta.audit, 'webhook', event.providerRef)
          const outcome = granted ? 'granted' : moved ? 'succeeded' : 'already_succeeded'
          await received(outcome, payment)
          return result(outcome, 'succeeded')
        }
        // A failure after a success (reordered delivery) leaves the payment and its entitlement alone.
        const failed = await tx.payments.settle(payment.id, 'failed', event.providerRef, new Date())
        if (failed)
          await audit.record(
            {
              ...meta.audit,
              action: 'payment.failed',
              target: `payment:${payment.id}`,
              metadata: { payment_id: payment.id, palette_id: payment.paletteId, amount_cents: payment.amountCents },
            },
            tx,
          )
        const outcome = failed ? 'failed' : 'ignored'
        await received(outcome, payment)
        return result(outcome, failed ? 'failed' : ((await tx.payments.payment(payment.id))?.status ?? null))
      })
    },
  }
}

export type PaymentsService = ReturnType<typeof createPaymentsService>
