/**
 * Budgets: the caller's usage (GET /api/v1/me/usage and the notice fragment of
 * the sessions pages), and the admin API for limits and usage.
 */
import { Elysia } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { LimitResponse, LimitsPage, SetLimitBody, UsageQuery, UsageResponse, UserUsage } from './model'
import type { BudgetService } from './service'
import { BudgetNotice } from './views'

export interface BudgetsModuleOptions {
  budgets: BudgetService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

/**
 * @example
 * app.use(budgetsModule({ budgets, guard, quota }))
 */
export const budgetsModule = ({ budgets, guard, quota }: BudgetsModuleOptions) =>
  new Elysia({ name: 'module/budgets' })
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
