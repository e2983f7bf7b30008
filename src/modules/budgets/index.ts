/**
 * Budgets: the caller's usage (GET /api/v1/me/usage and the notice fragment of
 * the sessions pages), and the admin API for limits and usage.
 */
import { Elysia, t } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError, unprocessable } from '../../errors'
import type { Actor } from '../../identity'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import type { RequestMeta } from '../../../plugins/rbac'
import { LimitsPage as LimitsPageView, LimitsPanel, type LimitsPageProps } from './admin-views'
import { LimitResponse, LimitsPage, SetLimitBody, UsageQuery, UsageResponse, UserUsage } from './model'
import type { BudgetService } from './service'
import { BudgetNotice } from './views'

export interface BudgetsModuleOptions {
  budgets: BudgetService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  /** Records admin page views (admin.view). */
  audit: AuditLog
  /** Roles offered for a role budget on /admin/limits. */
  roles: string[]
}

/** The limits form as posted: strings, checked here so a refusal comes back beside the form with its input. */
const LimitFormBody = t.Object({
  scope: t.Optional(t.String({ maxLength: 10 })),
  subject: t.Optional(t.String({ maxLength: 320 })),
  daily_tokens: t.Optional(t.String({ maxLength: 20 })),
  daily_cost_usd: t.Optional(t.String({ maxLength: 20 })),
  _csrf: t.Optional(t.String()),
})
type LimitForm = typeof LimitFormBody.static

const invalid = (field: string, message: string) => unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

/** A blank budget inherits (null); otherwise a whole number of tokens, or dollars with up to 6 decimals. */
function budgetOf(raw: string | undefined, field: string, integer: boolean): number | null {
  const text = raw?.trim() ?? ''
  if (text === '') return null
  const value = Number(text)
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value)))
    throw invalid(field, integer ? 'must be a whole number of tokens, 0 or more, or blank to inherit' : 'must be an amount in USD, 0 or more, or blank to inherit')
  if (value > (integer ? 1_000_000_000_000 : 1_000_000)) throw invalid(field, 'is too large')
  return value
}

/**
 * @example
 * app.use(budgetsModule({ budgets, guard, quota }))
 */
export const budgetsModule = ({ budgets, guard, quota, audit, roles }: BudgetsModuleOptions) => {
  const props = async (actor: Actor, outcome: Pick<LimitsPageProps, 'form' | 'error' | 'done'> = {}): Promise<LimitsPageProps> => ({
    actor,
    limits: await budgets.listLimits(pageParams({ limit: 100 })),
    usage: await budgets.listUsage(pageParams({ limit: 50 })),
    roles: ['user', ...roles],
    ...outcome,
  })
  const save = async (actor: Actor, body: LimitForm, meta: RequestMeta) => {
    const scope = body.scope === 'role' ? 'role' : body.scope === 'user' ? 'user' : null
    if (!scope) throw invalid('scope', 'must be user or role')
    const subject = body.subject?.trim() ?? ''
    if (!subject) throw invalid('subject', scope === 'user' ? 'give the email of a person' : 'give a role name')
    const input = { scope, subject, daily_tokens: budgetOf(body.daily_tokens, 'daily_tokens', true), daily_cost_usd: budgetOf(body.daily_cost_usd, 'daily_cost_usd', false) } as const
    const saved = await budgets.setLimit(actor, input, meta)
    return input.daily_tokens === null && input.daily_cost_usd === null
      ? `Removed the budget of ${saved.scope} ${saved.subject}; the defaults apply.`
      : `Saved: ${saved.scope} ${saved.subject} may use ${saved.daily_tokens ?? 'inherited'} tokens and ${saved.daily_cost_usd === null ? 'an inherited cost' : `$${saved.daily_cost_usd}`} a day.`
  }
  return new Elysia({ name: 'module/budgets' })
    .use(guard)
    .use(quota)
    .get('/api/v1/me/usage', ({ actor }) => budgets.usage(actor), {
      permission: 'me:read',
      response: UsageResponse,
      detail: { tags: ['identity'], summary: "The caller's daily token and cost budgets: used, reserved, limit, warnings" },
    })
    .get('/budget/notice', async ({ actor }) => BudgetNotice({ usage: await budgets.usage(actor) }), {
      permission: 'me:read',
      detail: { hide: true },
    })
    .group('/api/admin', { detail: { tags: ['admin'] } }, (admin) =>
      admin
        .get(
          '/limits',
          ({ query }) => budgets.listLimits(pageParams(query)),
          { permission: 'limits:manage', query: PageQuery, response: LimitsPage, detail: { summary: 'Budget overrides per user and role, and the defaults' } },
        )
        .put('/limits', ({ actor, body, meta }) => budgets.setLimit(actor, body, meta), {
          permission: 'limits:manage',
          quota: 'write',
          body: SetLimitBody,
          response: LimitResponse,
          detail: { summary: 'Set (or, with both budgets null, remove) the daily budgets of a user (by email) or a role' },
        })
        .get('/usage', ({ query }) => budgets.listUsage(pageParams(query), query.day), {
          permission: 'metrics:read',
          query: UsageQuery,
          response: pageOf(UserUsage),
          detail: { summary: "Each user's use against their daily budgets (default today)" },
        }),
    )
    .get(
      '/admin/limits',
      async ({ actor, meta }) => {
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'page:/admin/limits' })
        return LimitsPageView(await props(actor))
      },
      { permission: 'limits:manage', detail: { hide: true } },
    )
    .post(
      '/admin/limits',
      async ({ actor, body, meta, request, set }) => {
        const htmx = request.headers.get('hx-request') === 'true'
        try {
          const done = await save(actor, body, meta)
          if (!htmx) {
            set.status = 303
            set.headers.location = '/admin/limits'
            return ''
          }
          return LimitsPanel(await props(actor, { done }))
        } catch (error) {
          if (!(error instanceof AppError) || ![404, 409, 422].includes(error.status)) throw error
          set.status = error.status
          const page = await props(actor, { error: error.message, form: body })
          return htmx ? LimitsPanel(page) : LimitsPageView(page)
        }
      },
      { permission: 'limits:manage', quota: 'write', body: LimitFormBody, detail: { hide: true } },
    )
}
