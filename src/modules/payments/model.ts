/** Request and response schemas of the payments API; types are derived from them. */
import { t, type Static } from 'elysia'
import { PALETTE_ID_PATTERN } from '../palettes/model'

export const CheckoutBody = t.Object({
  palette_id: t.String({ pattern: PALETTE_ID_PATTERN, description: 'The priced palette to unlock' }),
})

export const Checkout = t.Object({
  payment_id: t.String(),
  status: t.Literal('pending'),
  palette_id: t.String(),
  amount_cents: t.Integer(),
  dev_proof: t.Optional(t.String({ description: 'Outside production only: the proof POST /api/v1/payments/confirm accepts' })),
})

export const ConfirmBody = t.Object({
  payment_id: t.String({ maxLength: 64 }),
  proof: t.String({ maxLength: 256 }),
})

export const Confirm = t.Object({
  payment_id: t.String(),
  palette_id: t.String(),
  status: t.Literal('succeeded'),
  unlocked: t.Literal(true),
})

const WEBHOOK_OUTCOMES = ['granted', 'succeeded', 'already_succeeded', 'failed', 'ignored', 'duplicate'] as const

export const WebhookReceipt = t.Object({
  received: t.Literal(true),
  event_id: t.String(),
  outcome: t.UnionEnum(WEBHOOK_OUTCOMES, { description: 'What the event did; duplicate and ignored changed nothing' }),
  payment_status: t.Nullable(t.String()),
})

export type CheckoutView = Static<typeof Checkout>
export type ConfirmView = Static<typeof Confirm>
export type WebhookResult = Static<typeof WebhookReceipt>
