/** Request and response schemas of palettes (list, admin create and edit); types are derived from them. */
import { t, type Static } from 'elysia'

export const PALETTE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,63}$'
export const MAX_PALETTE_AGENTS = 12
/** $10,000: a typo guard, not a business rule. */
export const MAX_PRICE_CENTS = 1_000_000

export const PaletteView = t.Object({
  id: t.String(),
  name: t.String(),
  description: t.String(),
  agents: t.Array(t.String(), { description: 'The members, by agent name' }),
  chair: t.String({ description: 'The agent that writes the synthesis' }),
  price_cents: t.Integer({ description: '0 for a free palette' }),
  unlocked: t.Boolean({ description: 'Whether the caller may run it: free, or unlocked by a payment' }),
})

export const PaletteList = t.Object({ items: t.Array(PaletteView) })

const Fields = {
  name: t.String({ maxLength: 200 }),
  description: t.String({ maxLength: 2000 }),
  agents: t.Array(t.String({ maxLength: 64 }), { maxItems: 100 }),
  chair: t.String({ maxLength: 64 }),
  price_cents: t.Integer({ description: 'USD cents, 0 for free' }),
}

export const CreatePaletteBody = t.Object({
  id: t.String({ pattern: PALETTE_ID_PATTERN, description: 'Slug: lower-case letters, digits and -' }),
  name: Fields.name,
  description: t.Optional(Fields.description),
  agents: Fields.agents,
  chair: Fields.chair,
  price_cents: Fields.price_cents,
})

export const UpdatePaletteBody = t.Partial(t.Object(Fields))

export type PaletteViewType = Static<typeof PaletteView>
export type CreatePaletteInput = Static<typeof CreatePaletteBody>
export type UpdatePaletteInput = Static<typeof UpdatePaletteBody>
