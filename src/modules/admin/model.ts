/** Request and response schemas of the admin API (/api/admin/role-bindings, /api/admin/audit). */
import { t, type Static } from 'elysia'
import { PageQuery } from '../../pagination'

/** The shape a role name must have (also checked by the service, so the page form gets the same message). */
export const ROLE_PATTERN = /^[A-Za-z][A-Za-z0-9_:-]{0,63}$/

export const RoleBindingView = t.Object({
  id: t.String(),
  user_id: t.String(),
  email: t.String(),
  role: t.String(),
  created_by: t.Nullable(t.String({ description: 'Email of the admin who granted it, or ADMIN_EMAILS' })),
  created_at: t.String({ format: 'date-time' }),
})

export const CreateRoleBindingBody = t.Object({
  email: t.String({ maxLength: 254, description: 'The person; created on first sight if they have never signed in' }),
  role: t.String({ maxLength: 64, description: `A role name matching ${ROLE_PATTERN.source}, e.g. admin, auditor, ADMIN_AGENT` }),
  _csrf: t.Optional(t.String()),
})

export const RoleBindingQuery = t.Object({
  ...PageQuery.properties,
  user: t.Optional(t.String({ maxLength: 254, description: 'Part of the email, case-insensitive' })),
  role: t.Optional(t.String({ maxLength: 64, description: 'Exact role name' })),
})

export const AuditEventView = t.Object({
  id: t.String(),
  at: t.String({ format: 'date-time' }),
  actor: t.Nullable(t.String()),
  actor_id: t.Nullable(t.String()),
  role: t.Nullable(t.String()),
  action: t.String(),
  target: t.Nullable(t.String()),
  session_id: t.Nullable(t.String()),
  job_id: t.Nullable(t.String()),
  request_id: t.Nullable(t.String()),
  ip: t.Nullable(t.String()),
  metadata: t.Nullable(t.Record(t.String(), t.Unknown())),
})

/** Filters of the audit trail; plain strings here, parsed (with messages naming the field) by the service. */
export const AuditFilterQuery = t.Object({
  since: t.Optional(t.String({ maxLength: 64, description: 'ISO 8601 date or date-time (UTC unless an offset is given); events at or after it' })),
  until: t.Optional(t.String({ maxLength: 64, description: 'ISO 8601 date or date-time; events before it' })),
  actor: t.Optional(t.String({ maxLength: 254, description: 'Part of the actor email (case-insensitive), or an actor id' })),
  action: t.Optional(t.String({ maxLength: 100, description: 'Exact action, or a prefix ending in * (e.g. role_binding.*)' })),
  target: t.Optional(t.String({ maxLength: 300, description: 'Exact target, or a prefix ending in * (e.g. user:*)' })),
  request_id: t.Optional(t.String({ maxLength: 128, description: 'Exact request id: every event of one request' })),
})

export const AuditQuery = t.Object({
  ...PageQuery.properties,
  ...AuditFilterQuery.properties,
  format: t.Optional(
    t.UnionEnum(['json', 'csv'], {
      description: 'csv: a text/csv export (needs audit:export) of up to 10,000 rows, newest first; X-Export-Truncated: true when more matched',
    }),
  ),
})

export type RoleBindingViewType = Static<typeof RoleBindingView>
export type AuditEventViewType = Static<typeof AuditEventView>
export type AuditFilterInput = Static<typeof AuditFilterQuery>
