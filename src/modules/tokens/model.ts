/** Request and response schemas of the personal access tokens API; types are derived from them. */
import { t, type Static } from 'elysia'

export const TOKEN_DEFAULT_DAYS = 90
export const TOKEN_MAX_DAYS = 365

export const CreateTokenBody = t.Object({
  name: t.String({ maxLength: 200, description: 'What the token is for, e.g. "CI export job"' }),
  expires_in_days: t.Optional(
    t.Integer({ minimum: 1, maximum: TOKEN_MAX_DAYS, description: `Days until it expires; default ${TOKEN_DEFAULT_DAYS}` }),
  ),
})

export const TokenView = t.Object({
  id: t.String(),
  name: t.String(),
  prefix: t.String({ description: 'The first characters of the token, to tell tokens apart' }),
  created_at: t.String({ description: 'ISO 8601 date-time' }),
  expires_at: t.String({ description: 'ISO 8601 date-time' }),
  last_used_at: t.Nullable(t.String({ description: 'ISO 8601 date-time, updated at most once a minute' })),
  expired: t.Boolean(),
})

export const CreatedToken = t.Object({
  id: t.String(),
  name: t.String(),
  token: t.String({ description: 'The token itself: shown this once, never again. Send it as Authorization: Bearer <token>.' }),
  prefix: t.String(),
  expires_at: t.String({ description: 'ISO 8601 date-time' }),
})

type CreateTokenInput = Static<typeof CreateTokenBody>
export type TokenViewType = Static<typeof TokenView>
export type CreatedTokenType = Static<typeof CreatedToken>
