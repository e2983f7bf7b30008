/**
 * Administration: role bindings (/api/admin/role-bindings, page /admin/rbac),
 * the audit trail (/api/admin/audit with CSV export, page /admin/audit) and
 * the dashboard (/admin). Viewing admin pages, reading the trail and exporting
 * it are audited themselves (admin.view, audit.view, audit.export).
 */
import type { SignInRevocations } from '../auth/revocations'
import { Elysia, t } from 'elysia'
import type { Database } from '../../../db/client'
import type { rbac, RequestMeta } from '../../../plugins/rbac'
import { AppError, forbidden } from '../../errors'
import type { Actor } from '../../identity'
import { pageOf, pageParams } from '../../pagination'
import type { AuditLog, AuditStore } from '../../../plugins/audit'
import type { Stores } from '../../stores'
import type { IdentityService } from '../identity/service'
import { createAuditTrail, parseAuditFilters } from './audit-trail'
import { AuditEventView, AuditFilterQuery, AuditQuery, CreateRoleBindingBody, RoleBindingQuery, RoleBindingView, type AuditFilterInput } from './model'
import { createRoleBindingsService, type RoleBindingFilters } from './role-bindings'
import { AdminPage, AuditFilterError, AuditPage, AuditResults, AuditRows, BindingResults, BindingRows, RbacPage, RbacPanel } from './views'

export interface AdminModuleOptions {
  db: Database
  stores: Stores
  audit: AuditLog
  /** Where the audit trail is read from (the audit log only writes). */
  auditEvents: Pick<AuditStore, 'list'>
  identity: IdentityService
  /** A change of someone's role bindings ends their sign-in cookies. */
  signIns: Pick<SignInRevocations, 'revoke'>
  agentRoleAllowlist: string[]
  guard: ReturnType<typeof rbac>
}

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

/** The page's filter fields are named apart from the add form's `role`, since both travel in one POST (hx-include). */
const RbacPageQuery = t.Object({
  filter_user: t.Optional(t.String({ maxLength: 254 })),
  filter_role: t.Optional(t.String({ maxLength: 64 })),
  limit: RoleBindingQuery.properties.limit,
  cursor: RoleBindingQuery.properties.cursor,
})
/** Page forms are checked by the service, so a refusal is shown beside the form rather than as a bare error. */
const RbacFormBody = t.Object({
  email: t.Optional(t.String({ maxLength: 2000 })),
  role: t.Optional(t.String({ maxLength: 2000 })),
  filter_user: t.Optional(t.String({ maxLength: 254 })),
  filter_role: t.Optional(t.String({ maxLength: 64 })),
  _csrf: t.Optional(t.String()),
})
const AuditPageQuery = t.Object({ ...AuditFilterQuery.properties, limit: AuditQuery.properties.limit, cursor: AuditQuery.properties.cursor })

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'

const pickFilters = (query: AuditFilterInput): AuditFilterInput => {
  const filters: AuditFilterInput = {}
  for (const key of Object.keys(AuditFilterQuery.properties) as Array<keyof AuditFilterInput>) {
    const value = query[key]?.trim()
    if (value) filters[key] = value
  }
  return filters
}

/**
 * @example
 * app.use(adminModule({ db, stores, audit, auditEvents: stores.audit, identity, signIns, agentRoleAllowlist: config.agentRoleAllowlist, guard }))
 */
export const adminModule = ({ db, stores, audit, auditEvents, identity, signIns, agentRoleAllowlist, guard }: AdminModuleOptions) => {
  const bindings = createRoleBindingsService({ stores, audit, identity, signIns, agentRoleAllowlist })
  const trail = createAuditTrail({ store: auditEvents })

  const viewed = (actor: Actor, meta: RequestMeta, page: string, metadata?: Record<string, unknown>) =>
    audit.recordLater({ ...meta.audit, action: 'admin.view', target: `page:${page}`, metadata })

  const rbacFilters = (source: { filter_user?: string; filter_role?: string }): RoleBindingFilters => ({
    user: source.filter_user?.trim() || undefined,
    role: source.filter_role?.trim() || undefined,
  })

  /** The role-bindings panel after a change (or a refused one), listing with the filters the page had. */
  const panel = async (actor: Actor, body: typeof RbacFormBody.static, outcome: { error?: string; done?: string; keepForm?: boolean }) => {
    const filters = rbacFilters(body)
    return {
      actor,
      filters,
      page: await bindings.list(filters, pageParams({})),
      knownRoles: bindings.knownRoles(),
      form: outcome.keepForm ? { email: body.email, role: body.role } : {},
      error: outcome.error,
      done: outcome.done,
    }
  }

  /** Runs a page mutation: htmx gets the panel back (with the refusal in it); a plain form post gets 303 or the page. */
  const mutate = async (
    actor: Actor,
    body: typeof RbacFormBody.static,
    request: Request,
    set: { status?: number | string; headers: Record<string, string | number> },
    change: () => Promise<string>,
  ) => {
    try {
      const done = await change()
      if (!isHtmx(request)) {
        set.status = 303
        set.headers.location = '/admin/rbac'
        return ''
      }
      return RbacPanel(await panel(actor, body, { done }))
    } catch (error) {
      if (!(error instanceof AppError) || ![404, 409, 422].includes(error.status)) throw error
      set.status = error.status
      const props = await panel(actor, body, { error: error.message, keepForm: true })
      return isHtmx(request) ? RbacPanel(props) : RbacPage(props)
    }
  }

  return new Elysia({ name: 'module/admin' })
    .use(guard)
    .group('/api/admin', { detail: { tags: ['admin'] } }, (api) =>
      api
        .get('/role-bindings', ({ query }) => bindings.list({ user: query.user, role: query.role }, pageParams(query)), {
          permission: 'rbac:manage',
          query: RoleBindingQuery,
          response: pageOf(RoleBindingView),
          detail: { summary: 'Role bindings, newest first; filter by part of the email (user) or exact role' },
        })
        .post(
          '/role-bindings',
          async ({ actor, body, meta, set }) => {
            const created = await bindings.create(actor, body, meta)
            set.status = 201
            return created
          },
          {
            permission: 'rbac:manage',
            body: CreateRoleBindingBody,
            response: { 201: RoleBindingView },
            detail: { summary: 'Grant a role to a person by email (created on first sight); 409 if they already hold it' },
          },
        )
        .delete(
          '/role-bindings/:id',
          async ({ actor, params, meta, set }) => {
            await bindings.remove(actor, params.id, meta)
            set.status = 204
            return undefined
          },
          {
            permission: 'rbac:manage',
            params: IdParams,
            detail: { summary: 'Revoke a role binding; 409 last_admin for the only admin binding left' },
          },
        )
        .get(
          '/audit',
          async ({ actor, query, meta, set }) => {
            const filters = parseAuditFilters(query)
            const recorded = { ...meta.audit, metadata: { filters: pickFilters(query) } }
            if (query.format === 'csv') {
              if (!actor.permissions.has('audit:export'))
                throw forbidden('Exporting the audit trail needs the audit:export permission; ask an administrator.')
              const { csv, rows, truncated } = await trail.exportCsv(filters)
              await audit.record({ ...recorded, action: 'audit.export', metadata: { ...recorded.metadata, rows, truncated } })
              if (truncated) set.headers['x-export-truncated'] = 'true'
              set.headers['content-disposition'] = `attachment; filename="audit-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}.csv"`
              set.headers['cache-control'] = 'no-store'
              set.headers['content-type'] = 'text/csv; charset=utf-8'
              return csv
            }
            const page = await trail.list(filters, pageParams(query))
            audit.recordLater({ ...recorded, action: 'audit.view', metadata: { ...recorded.metadata, returned: page.items.length } })
            return page
          },
          {
            permission: 'audit:read',
            query: AuditQuery,
            response: { 200: t.Union([pageOf(AuditEventView), t.String({ description: 'format=csv: text/csv, header row first' })]) },
            detail: {
              summary: 'Audit events, newest first, filtered; format=csv exports up to 10,000 rows as text/csv (needs audit:export)',
            },
          },
        ),
    )
    .get(
      '/admin',
      ({ actor, meta }) => {
        viewed(actor, meta, '/admin')
        return AdminPage({ actor })
      },
      { permission: 'admin:view', detail: { hide: true } },
    )
    .get(
      '/admin/rbac',
      async ({ actor, query, meta, request }) => {
        const filters = rbacFilters(query)
        const page = await bindings.list(filters, pageParams(query))
        viewed(actor, meta, '/admin/rbac', { filters })
        // htmx asks for the rows after a cursor ("load more") or for the filtered results.
        if (isHtmx(request)) return query.cursor ? BindingRows({ actor, page, filters }) : BindingResults({ actor, page, filters })
        return RbacPage({ actor, page, filters, knownRoles: bindings.knownRoles() })
      },
      { permission: 'rbac:manage', query: RbacPageQuery, detail: { hide: true } },
    )
    .post(
      '/admin/rbac/bindings',
      ({ actor, body, meta, request, set }) =>
        mutate(actor, body, request, set, async () => {
          const created = await bindings.create(actor, { email: body.email ?? '', role: body.role ?? '' }, meta)
          return `Granted ${created.role} to ${created.email}.`
        }),
      { permission: 'rbac:manage', body: RbacFormBody, detail: { hide: true } },
    )
    .post(
      '/admin/rbac/bindings/:id/delete',
      ({ actor, params, body, meta, request, set }) =>
        mutate(actor, body ?? {}, request, set, async () => {
          const removed = await bindings.remove(actor, params.id, meta)
          return `Removed ${removed.role} from ${removed.email}.`
        }),
      { permission: 'rbac:manage', params: IdParams, body: t.Optional(RbacFormBody), detail: { hide: true } },
    )
    .get(
      '/admin/audit',
      async ({ actor, query, meta, request, set }) => {
        const shown = pickFilters(query)
        let filters
        try {
          filters = parseAuditFilters(query)
        } catch (error) {
          if (!(error instanceof AppError)) throw error
          set.status = error.status
          if (isHtmx(request)) return AuditFilterError({ message: error.message })
          const empty = { items: [], next_cursor: null, limit: 0 }
          return AuditPage({ actor, page: empty, filters: shown, error: error.message })
        }
        const page = await trail.list(filters, pageParams(query))
        if (isHtmx(request)) {
          audit.recordLater({ ...meta.audit, action: 'audit.view', metadata: { filters: shown, returned: page.items.length } })
          return query.cursor ? AuditRows({ page, filters: shown }) : AuditResults({ actor, page, filters: shown })
        }
        viewed(actor, meta, '/admin/audit', { filters: shown })
        return AuditPage({ actor, page, filters: shown })
      },
      { permission: 'audit:read', query: AuditPageQuery, detail: { hide: true } },
    )
}
