/**
 * /admin/limits: the daily token and cost budgets per user and per role (the
 * overrides of DAILY_TOKEN_BUDGET / DAILY_COST_BUDGET_USD), a form to set or
 * remove one (audited as limits.set by the budgets admin service), and
 * everyone's use today. A refused form comes back with its input kept.
 */
import type { Actor } from '../../identity'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import type { LimitView, UserUsageView } from './model'

export interface LimitsPageProps {
  actor: Actor
  limits: Page<LimitView> & { defaults: { daily_tokens: number; daily_cost_usd: number } }
  usage: Page<UserUsageView>
  /** Roles worth offering for a role budget. */
  roles: string[]
  form?: { scope?: string; subject?: string; daily_tokens?: string; daily_cost_usd?: string }
  error?: string
  done?: string
}

const tokens = (n: number | null) => (n === null ? 'inherits' : n.toLocaleString('en-US'))
const usd = (n: number | null) => (n === null ? 'inherits' : `$${n.toFixed(2)}`)

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

export function LimitsPanel({ actor, limits, usage, roles, form = {}, error, done }: LimitsPageProps) {
  const scope = form.scope === 'role' ? 'role' : 'user'
  return (
    <section id="limits-panel">
      {error ? (
        <div class="notice error" role="alert" id="limits-error" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {done ? (
        <div class="notice ok" role="status" id="limits-ok" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      <p class="small" id="limit-defaults">
        Defaults for everyone: <strong safe>{`${tokens(limits.defaults.daily_tokens)} tokens`}</strong> and{' '}
        <strong safe>{usd(limits.defaults.daily_cost_usd)}</strong> a day (UTC). A user’s own budget beats their roles’; among roles the most
        generous applies; a blank budget inherits.
      </p>
      <form id="limit-form" class="card" method="post" action="/admin/limits" hx-post="/admin/limits" hx-target="#limits-panel" hx-swap="outerHTML">
        <h2>Set a budget</h2>
        <Csrf actor={actor} />
        <datalist id="limit-roles">
          {roles.map((role) => (
            <option value={role} />
          ))}
        </datalist>
        <div class="field-row">
          <div class="field">
            <label for="limit-scope">For</label>
            <select id="limit-scope" name="scope">
              <option value="user" selected={scope === 'user'}>
                a user (email)
              </option>
              <option value="role" selected={scope === 'role'}>
                a role
              </option>
            </select>
          </div>
          <div class="field">
            <label for="limit-subject">Email or role</label>
            <input id="limit-subject" name="subject" type="text" required maxlength="320" list="limit-roles" value={form.subject ?? ''} placeholder="someone@example.com or auditor" />
          </div>
          <div class="field">
            <label for="limit-tokens">Tokens a day</label>
            <input id="limit-tokens" name="daily_tokens" type="number" min="0" step="1" value={form.daily_tokens ?? ''} placeholder="inherit" />
          </div>
          <div class="field">
            <label for="limit-cost">Cost a day (USD)</label>
            <input id="limit-cost" name="daily_cost_usd" type="number" min="0" step="0.01" value={form.daily_cost_usd ?? ''} placeholder="inherit" />
          </div>
        </div>
        <p class="muted small">Both blank removes the override, so the defaults (or the roles’ budgets) apply again.</p>
        <p>
          <button type="submit">Save</button>
        </p>
      </form>
      <h2>Budgets set</h2>
      {limits.items.length === 0 ? (
        <p class="muted" id="no-limits">
          No user or role has a budget of its own; the defaults apply to everyone.
        </p>
      ) : (
        <div class="table-scroll">
          <table id="limits-table">
            <thead>
              <tr>
                <th>For</th>
                <th class="num">Tokens a day</th>
                <th class="num">Cost a day</th>
                <th>Set by</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {limits.items.map((limit) => (
                <tr data-limit-id={limit.id} data-scope={limit.scope}>
                  <td>
                    <span class="muted small" safe>{`${limit.scope} `}</span>
                    <span safe>{limit.subject}</span>
                  </td>
                  <td class="num" safe>
                    {tokens(limit.daily_tokens)}
                  </td>
                  <td class="num" safe>
                    {usd(limit.daily_cost_usd)}
                  </td>
                  <td class="small">
                    <span safe>{limit.updated_by ?? '—'}</span>
                    <div class="muted nowrap">
                      <Time iso={limit.updated_at} />
                    </div>
                  </td>
                  <td>
                    <form
                      method="post"
                      action="/admin/limits"
                      hx-post="/admin/limits"
                      hx-target="#limits-panel"
                      hx-swap="outerHTML"
                      hx-confirm={`Remove the budget of ${limit.scope} ${limit.subject}?`}
                      class="inline"
                    >
                      <Csrf actor={actor} />
                      <input type="hidden" name="scope" value={limit.scope} />
                      <input type="hidden" name="subject" value={limit.subject} />
                      <button type="submit" class="link danger-link" aria-label={`Remove the budget of ${limit.scope} ${limit.subject}`}>
                        Remove
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {limits.next_cursor ? <p class="muted small">More budgets: GET /api/admin/limits.</p> : ''}
      <h2>Use today</h2>
      {usage.items.length === 0 ? (
        <p class="muted" id="no-usage">
          Nobody has used the council today (UTC).
        </p>
      ) : (
        <div class="table-scroll">
          <table id="usage-table">
            <thead>
              <tr>
                <th>User</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {usage.items.map((row) => (
                <tr>
                  <td safe>{row.email ?? row.user_id}</td>
                  <td class="num" safe>
                    {`${row.tokens.used.toLocaleString('en-US')} of ${row.tokens.limit.toLocaleString('en-US')} (${row.percent.tokens} %)`}
                  </td>
                  <td class="num" safe>
                    {`$${row.cost_usd.used.toFixed(4)} of $${row.cost_usd.limit.toFixed(2)} (${row.percent.cost} %)`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {usage.next_cursor ? <p class="muted small">Everyone’s use: GET /api/admin/usage.</p> : ''}
    </section>
  )
}

export function LimitsPage(props: LimitsPageProps) {
  return (
    <Layout title="Limits" actor={props.actor} path="/admin">
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Limits</h1>
      <p class="muted small">Daily token and cost budgets per user and per role. Every change is recorded in the audit trail (limits.set).</p>
      <LimitsPanel {...props} />
    </Layout>
  )
}
