/**
 * Council quality across runs: GET /api/admin/quality?window=30d and the page
 * /admin/quality (admins and auditors: metrics:read). Reading the figures is
 * audited like every admin view (admin.view, target page:/admin/quality).
 */
import { Elysia } from 'elysia'
import type { AuditLog } from '../../../plugins/audit'
import type { rbac } from '../../../plugins/rbac'
import type { Stores } from '../../stores'
import { QualityQuery, QualityResponse } from './model'
import { createQualityService } from './service'
import { QualityPage, QualityPanel } from './views'

export interface QualityModuleOptions {
  stores: Pick<Stores, 'stageOutputs'>
  audit: AuditLog
  guard: ReturnType<typeof rbac>
}

/**
 * @example
 * app.use(qualityModule({ stores, audit, guard }))
 */
export const qualityModule = ({ stores, audit, guard }: QualityModuleOptions) => {
  const quality = createQualityService({ stores })
  return new Elysia({ name: 'module/quality' })
    .use(guard)
    .get(
      '/api/admin/quality',
      async ({ query, meta }) => {
        const report = await quality.report(query.window)
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'api:/api/admin/quality', metadata: { window: report.window } })
        return report
      },
      {
        permission: 'metrics:read',
        query: QualityQuery,
        response: QualityResponse,
        detail: {
          tags: ['admin'],
          summary:
            "Council quality across runs in a window: position bias, length bias, self-preference, unparsed reviews, reviewer agreement (Kendall's W), each with its councils and a reading",
        },
      },
    )
    .get(
      '/admin/quality',
      async ({ actor, query, meta, request }) => {
        const report = await quality.report(query.window)
        audit.recordLater({ ...meta.audit, action: 'admin.view', target: 'page:/admin/quality', metadata: { window: report.window } })
        return request.headers.get('hx-request') === 'true' ? QualityPanel({ report }) : QualityPage({ actor, report })
      },
      { permission: 'metrics:read', query: QualityQuery, detail: { hide: true } },
    )
}
