/** TypeBox schemas of the budgets API: the caller's usage, and the admin limits and usage lists. */
import { t, type Static } from 'elysia'
import { pageOf } from '../../pagination'

const Figures = (unit: string) =>
  t.Object({
    used: t.Number({ description: `Actually used today (${unit}), including what running jobs have used so far` }),
    reserved: t.Number({ description: `Held by queued and running jobs beyond their use so far (${unit})` }),
    limit: t.Number({ description: `The daily limit (${unit})` }),
  })

export const UsageResponse = t.Object({
  day: t.String({ description: 'The UTC day, YYYY-MM-DD' }),
  resets_at: t.String({ description: 'The next UTC midnight' }),
  tokens: Figures('tokens'),
  cost_usd: Figures('USD'),
  warnings: t.Array(
    t.Object({
      budget: t.Union([t.Literal('tokens'), t.Literal('cost')]),
      threshold: t.Number(),
      percent: t.Number(),
      message: t.String(),
    }),
  ),
})

export const LimitResponse = t.Object({
  id: t.String(),
  scope: t.Union([t.Literal('user'), t.Literal('role')]),
  subject: t.String({ description: "The user's email, or the role name" }),
  user_id: t.Nullable(t.String()),
  daily_tokens: t.Nullable(t.Number()),
  daily_cost_usd: t.Nullable(t.Number()),
  updated_by: t.Nullable(t.String()),
  updated_at: t.String(),
})

export const LimitsPage = t.Composite([
  pageOf(LimitResponse),
  t.Object({ defaults: t.Object({ daily_tokens: t.Number(), daily_cost_usd: t.Number() }) }),
])

export const SetLimitBody = t.Object({
  scope: t.Union([t.Literal('user'), t.Literal('role')], { description: "'user' (subject is an email) or 'role' (subject is a role name)" }),
  subject: t.String({ minLength: 1, maxLength: 320 }),
  daily_tokens: t.Optional(t.Nullable(t.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'null inherits' }))),
  daily_cost_usd: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1_000_000, description: 'null inherits' }))),
})

export const UserUsage = t.Object({
  user_id: t.String(),
  email: t.Nullable(t.String()),
  day: t.String(),
  tokens: Figures('tokens'),
  cost_usd: Figures('USD'),
  percent: t.Object({ tokens: t.Number(), cost: t.Number() }),
})

export const UsageQuery = t.Object({
  limit: t.Optional(t.Numeric()),
  cursor: t.Optional(t.String({ maxLength: 200 })),
  day: t.Optional(t.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day, YYYY-MM-DD; default today' })),
})

export type UsageView = Static<typeof UsageResponse>
export type BudgetWarning = UsageView['warnings'][number]
export type LimitView = Static<typeof LimitResponse>
export type UserUsageView = Static<typeof UserUsage>
export type SetLimitInput = Static<typeof SetLimitBody>
