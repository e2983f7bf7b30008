/**
 * The admin pages and their htmx fragments: the dashboard (/admin), role
 * bindings (/admin/rbac: filter, add, remove, with errors shown in place) and
 * the audit trail (/admin/audit: filters, "load more", CSV export).
 */
import type { Actor } from '../../identity'
import { LoadMoreRow } from '../../../views/components/load-more'
import { ShortId } from '../../../views/components/short-id'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import { filterQueryString } from './audit-trail'
import type { AuditEventViewType, AuditFilterInput, RoleBindingViewType } from './model'
import type { RoleBindingFilters } from './role-bindings'

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

const Notice = ({ kind, message }: { kind: 'error' | 'ok'; message?: string }) =>
  message ? (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'} id={`rbac-${kind}`} safe>
      {message}
    </div>
  ) : (
    ''
  )

/** The admin sections this person may open; /admin (src/modules/usage/views.tsx) shows it above the dashboard. */
export function AdminLinks({ actor }: { actor: Actor }) {
  return (
    <>
      <div class="card" id="admin-links">
        <ul>
          {actor.permissions.has('rbac:manage') ? (
            <li>
              <a href="/admin/rbac">Role bindings</a> — who holds which role; grant and revoke.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('palettes:manage') ? (
            <li>
              <a href="/admin/palettes">Palettes</a> — create, edit and price the agent sets members run.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('limits:manage') ? (
            <li>
              <a href="/admin/limits">Limits</a> — daily token and cost budgets per user and per role; everyone’s use today.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('metrics:read') ? (
            <li>
              <a href="/admin/jobs">Jobs</a> — everyone’s queued, running and failed jobs{actor.permissions.has('jobs:manage') ? '; cancel' : ''}.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('metrics:read') ? (
            <li>
              <a href="/admin/quality">Council quality</a> — position and length bias, self-preference, unreadable reviews, reviewer agreement.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('audit:read') ? (
            <li>
              <a href="/admin/audit">Audit trail</a> — who did what, when, from which request; CSV export.
            </li>
          ) : (
            ''
          )}
          {actor.permissions.has('incidents:manage') ? (
            <li>
              <a href="/admin/incidents">Incidents</a> — post and update incidents and maintenance windows on the <a href="/status">status page</a>.
            </li>
          ) : (
            ''
          )}
        </ul>
      </div>
    </>
  )
}

// ── Role bindings ────────────────────────────────────────────────────────────

const rbacQuery = (filters: RoleBindingFilters, cursor?: string) => {
  const params = new URLSearchParams()
  if (filters.user) params.set('filter_user', filters.user)
  if (filters.role) params.set('filter_role', filters.role)
  if (cursor) params.set('cursor', cursor)
  return params.toString()
}

export function BindingRows({ actor, page, filters }: { actor: Actor; page: Page<RoleBindingViewType>; filters: RoleBindingFilters }) {
  return (
    <>
      {page.items.map((binding) => (
        <tr data-binding-id={binding.id}>
          <td safe>{binding.email}</td>
          <td>
            <code class="nowrap" safe>{binding.role}</code>
          </td>
          <td class="muted small" safe>
            {binding.created_by ?? '—'}
          </td>
          <td class="muted small nowrap">
            <Time iso={binding.created_at} />
          </td>
          <td>
            <form
              method="post"
              action={`/admin/rbac/bindings/${binding.id}/delete`}
              hx-post={`/admin/rbac/bindings/${binding.id}/delete`}
              hx-include="#rbac-filter"
              hx-target="#rbac-panel"
              hx-swap="outerHTML"
              hx-confirm={`Remove the role ${binding.role} from ${binding.email}?`}
              class="inline"
            >
              <Csrf actor={actor} />
              <button type="submit" class="link" aria-label={`Remove ${binding.role} from ${binding.email}`}>
                Remove
              </button>
            </form>
          </td>
        </tr>
      ))}
      <LoadMoreRow id="bindings-more" columns={5} href={page.next_cursor ? `/admin/rbac?${rbacQuery(filters, page.next_cursor)}` : null} />
    </>
  )
}

export function BindingResults(props: { actor: Actor; page: Page<RoleBindingViewType>; filters: RoleBindingFilters }) {
  return (
    <div id="binding-results">
      {props.page.items.length === 0 ? (
        <p class="muted" id="no-bindings">
          No role bindings match.
        </p>
      ) : (
<div class="table-scroll">
        <table id="bindings-table">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Granted by</th>
              <th>Since</th>
              <th />
            </tr>
          </thead>
          <tbody id="binding-rows">
            <BindingRows {...props} />
          </tbody>
        </table>
</div>
      )}
    </div>
  )
}

export interface RbacPanelProps {
  actor: Actor
  page: Page<RoleBindingViewType>
  filters: RoleBindingFilters
  knownRoles: string[]
  /** What the add form held, kept after a refusal. */
  form?: { email?: string; role?: string }
  error?: string
  done?: string
}

export function RbacPanel({ actor, page, filters, knownRoles, form = {}, error, done }: RbacPanelProps) {
  return (
    <section id="rbac-panel">
      <Notice kind="error" message={error} />
      <Notice kind="ok" message={done} />
      <datalist id="known-roles">
        {knownRoles.map((role) => (
          <option value={role} />
        ))}
      </datalist>
      <form
        id="rbac-add"
        class="card"
        method="post"
        action="/admin/rbac/bindings"
        hx-post="/admin/rbac/bindings"
        hx-include="#rbac-filter"
        hx-target="#rbac-panel"
        hx-swap="outerHTML"
      >
        <h2>Grant a role</h2>
        <Csrf actor={actor} />
        <div class="field">
          <label for="binding-email">Email</label>
          <input id="binding-email" name="email" type="email" required maxlength="254" value={form.email ?? ''} placeholder="someone@example.com" />
        </div>
        <div class="field">
          <label for="binding-role">Role</label>
          <select id="binding-role" name="role" required>
            <option value="" selected={!form.role || !knownRoles.includes(form.role)}>
              Choose a role
            </option>
            {knownRoles.map((role) => (
              <option value={role} selected={form.role === role} safe>
                {role}
              </option>
            ))}
          </select>
          <p class="field-help muted small">
            Built-in roles, the agent roles of <code>AGENT_ROLE_ALLOWLIST</code> and the roles <code>JWT_ROLE_MAP</code> maps to.
          </p>
        </div>
        <p>
          <button type="submit">Grant</button>
        </p>
      </form>
      <form
        id="rbac-filter"
        class="inline"
        method="get"
        action="/admin/rbac"
        hx-get="/admin/rbac"
        hx-target="#binding-results"
        hx-swap="outerHTML"
        role="search"
      >
        <label for="filter-user">Email</label>{' '}
        <input id="filter-user" name="filter_user" type="text" maxlength="254" value={filters.user ?? ''} />{' '}
        <label for="filter-role">Role</label> <input id="filter-role" name="filter_role" type="text" maxlength="64" list="known-roles" value={filters.role ?? ''} />{' '}
        <button type="submit">Filter</button>
      </form>
      <BindingResults actor={actor} page={page} filters={filters} />
    </section>
  )
}

export function RbacPage(props: RbacPanelProps) {
  return (
    <Layout title="Role bindings" actor={props.actor} path="/admin">
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Role bindings</h1>
      <p class="muted small">
        Everyone signed in holds <code>user</code>. Roles bound here add to it and apply on the next request. The last admin binding
        cannot be removed.
      </p>
      <RbacPanel {...props} />
    </Layout>
  )
}

// ── Audit trail ──────────────────────────────────────────────────────────────

/** A target such as "user:0190…" keeps its kind and shortens the id after it. */
function Target({ target }: { target: string }) {
  const match = /^([A-Za-z_.-]+:)([0-9a-f][0-9a-f-]{15,})$/.exec(target)
  if (!match) return <span class="target" safe>{target}</span>
  return (
    <span class="target">
      <span safe>{match[1]}</span>
      <ShortId id={match[2]!} label="target id" />
    </span>
  )
}

export function AuditRows({ page, filters }: { page: Page<AuditEventViewType>; filters: AuditFilterInput }) {
  return (
    <>
      {page.items.map((event) => (
        <tr data-event-id={event.id} data-action={event.action} data-request-id={event.request_id ?? undefined}>
          <td class="small nowrap">
            <Time iso={event.at} seconds />
          </td>
          <td class="actor-cell">
            <span safe>{event.actor ?? '—'}</span>
            {event.role ? (
              <span class="muted small" safe>
                {` (${event.role})`}
              </span>
            ) : (
              ''
            )}
            {event.ip ? (
              <div class="muted small" safe>
                {event.ip}
              </div>
            ) : (
              ''
            )}
          </td>
          <td class="action-cell">
            {/* Breaks only after a dot (role_binding.⏎create), never inside a word. */}
            <code>
              {event.action.split('.').map((part, i, all) => (
                <>
                  <span safe>{`${part}${i < all.length - 1 ? '.' : ''}`}</span>
                  {i < all.length - 1 ? <wbr /> : ''}
                </>
              ))}
            </code>
          </td>
          <td class="small target-cell">
            {event.target ? <Target target={event.target} /> : ''}
            {event.session_id ? (
              <div class="muted nowrap">
                session <ShortId id={event.session_id} label="session id" />
              </div>
            ) : (
              ''
            )}
            {event.job_id ? (
              <div class="muted nowrap">
                job <ShortId id={event.job_id} label="job id" />
              </div>
            ) : (
              ''
            )}
          </td>
          <td class="small nowrap">
            {event.request_id ? (
              <ShortId id={event.request_id} label="request id" href={`/admin/audit?${filterQueryString({ request_id: event.request_id })}`} />
            ) : (
              ''
            )}
          </td>
          <td class="details-cell">
            {event.metadata ? (
              <code class="muted small" safe>
                {JSON.stringify(event.metadata, null, 1).replace(/\n\s*/g, ' ')}
              </code>
            ) : (
              ''
            )}
          </td>
        </tr>
      ))}
      <LoadMoreRow id="audit-more" columns={6} href={page.next_cursor ? `/admin/audit?${filterQueryString(filters, { cursor: page.next_cursor })}` : null} />
    </>
  )
}

export function AuditResults({ actor, page, filters }: { actor: Actor; page: Page<AuditEventViewType>; filters: AuditFilterInput }) {
  return (
    <section id="audit-results">
      {actor.permissions.has('audit:export') ? (
        <p class="small">
          <a href={`/api/admin/audit?${filterQueryString(filters, { format: 'csv' })}`} id="audit-export">
            Export these events as CSV
          </a>{' '}
          <span class="muted">(up to 10,000 rows)</span>
        </p>
      ) : (
        ''
      )}
      {page.items.length === 0 ? (
        <p class="muted" id="no-events">
          No events match.
        </p>
      ) : (
        <div class="table-scroll">
        <table id="audit-table">
          <thead>
            <tr>
              <th>At</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Request id</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody id="audit-rows">
            <AuditRows page={page} filters={filters} />
          </tbody>
        </table>
        </div>
      )}
    </section>
  )
}

const FILTER_FIELDS: Array<{ name: keyof AuditFilterInput; label: string; placeholder: string }> = [
  { name: 'since', label: 'Since', placeholder: '2025-01-31 or 2025-01-31T09:00Z' },
  { name: 'until', label: 'Until', placeholder: '2025-02-01' },
  { name: 'actor', label: 'Actor', placeholder: 'part of an email' },
  { name: 'action', label: 'Action', placeholder: 'role_binding.* or agent.call' },
  { name: 'target', label: 'Target', placeholder: 'user:…' },
  { name: 'request_id', label: 'Request id', placeholder: 'X-Request-Id of a response' },
]

export function AuditPage({ actor, page, filters, error }: { actor: Actor; page: Page<AuditEventViewType>; filters: AuditFilterInput; error?: string }) {
  return (
    <Layout title="Audit trail" actor={actor} path="/admin">
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Audit trail</h1>
      <form id="audit-filter" class="card" method="get" action="/admin/audit" hx-get="/admin/audit" hx-target="#audit-results" hx-swap="outerHTML" role="search">
        <table class="filters">
          {[FILTER_FIELDS.slice(0, 3), FILTER_FIELDS.slice(3)].map((row) => (
            <tr>
              {row.map((field) => (
                <td>
                  <label for={`audit-${field.name}`} safe>
                    {field.label}
                  </label>
                  <input id={`audit-${field.name}`} name={field.name} type="text" value={filters[field.name] ?? ''} placeholder={field.placeholder} maxlength="300" />
                </td>
              ))}
            </tr>
          ))}
        </table>
        <p>
          <button type="submit">Filter</button> <a href="/admin/audit">Clear</a>
        </p>
      </form>
      {error ? (
        <div class="notice error" role="alert" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      <AuditResults actor={actor} page={page} filters={filters} />
    </Layout>
  )
}

/** A refused filter (e.g. a bad date) answered in place of the results, keeping the form as typed. */
export function AuditFilterError({ message }: { message: string }) {
  return (
    <section id="audit-results">
      <div class="notice error" role="alert" safe>
        {message}
      </div>
    </section>
  )
}
