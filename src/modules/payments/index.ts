/** Payments: checkout and dev confirm for members, and the provider's signed webhook. */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { forbidden } from '../../errors'
import { Checkout, CheckoutBody, Confirm, ConfirmBody, WebhookReceipt } from './model'
import type { PaymentsService } from './service'

/**
 * @example
 * app.use(paymentsModule({ payments, guard, quota }))
 */
export const paymentsModule = ({ payments, guard, quota }: { payments: PaymentsService; guard: ReturnType<typeof rbac>; quota: QuotaPlugin }) =>
  new Elysia({ name: 'module/payments' })
    .use(guard)
    .use(quota)
    .group('/api/v1/payments', { detail: { tags: ['payments'] } }, (api) =>
      api
        .post(
          '/checkout',
          async ({ actor, body, meta, set }) => {
            set.status = 201
            set.headers['cache-control'] = 'no-store'
            return payments.checkout(actor, body.palette_id, meta)
          },
          {
            permission: 'payments:checkout',
            quota: 'write',
            body: CheckoutBody,
            response: { 201: Checkout },
            detail: {
              summary: 'Start paying for a priced palette: a pending payment (dev_proof outside production); 409 palette_free or already_unlocked',
            },
          },
        )
        .post('/confirm', ({ actor, body, meta }) => payments.confirm(actor, body, meta), {
          permission: 'payments:checkout',
          quota: 'write',
          body: ConfirmBody,
          response: Confirm,
          detail: { summary: 'Settle your payment with its proof (idempotent); a wrong proof is 403 invalid_proof and changes nothing' },
        })
        .post(
          '/webhook',
          ({ actor, body, meta }) => {
            // Only the signature makes a provider: a person bound to its role is still not one.
            if (actor.via !== 'signature') throw forbidden('Only the payment provider calls this webhook, signed in X-Signature.')
            return payments.webhook(body, meta)
          },
          {
            permission: 'payments:webhook',
            // The signature covers the exact bytes sent, so the body reaches the guard and the handler unparsed.
            parse: 'text',
            body: t.String({ maxLength: 65_536, description: 'The event as JSON: {id, type, data:{payment_id, amount_cents?, provider_ref?}}' }),
            response: WebhookReceipt,
            detail: {
              summary:
                'Provider events, signed: X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> (5-minute tolerance). Replays and duplicates change nothing',
            },
          },
        ),
    )
