/**
 * The personal access tokens panel of /me: the list (stacked rows on a phone),
 * the create form, the new token shown once, and revoke with a confirmation.
 * Every action swaps the panel in place (htmx); without htmx the forms post and
 * the page is rendered again.
 */
import type { Actor } from '../../identity'
import type { Page } from '../../pagination'
import { TOKEN_DEFAULT_DAYS, type CreatedTokenType, type TokenViewType } from './model'

/** Times are shown in UTC, and say so. */
const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

export interface TokensPanelProps {
  actor: Actor
  page: Page<TokenViewType>
  /** The token just created: its secret is in this response only. */
  created?: CreatedTokenType
  error?: string
  done?: string
  /** What the create form had, kept after a refusal. */
  form?: { name?: string; expires_in_days?: string }
}

const EXPIRY_CHOICES = [7, 30, 90, 180, 365]

function CreatedNotice({ created }: { created: CreatedTokenType }) {
  return (
    <div class="notice ok" role="status" id="new-token-notice">
      <p>
        <strong safe>{`Token “${created.name}” created.`}</strong> Copy it now: it is shown this once and cannot be
        retrieved later (only its hash is stored).
      </p>
      <label for="new-token">Your new token</label>
      <input type="text" id="new-token" class="mono" readonly value={created.token} aria-describedby="new-token-hint" />
      <p class="muted small" id="new-token-hint" safe>
        {`Select the field and copy it (Ctrl+C or ⌘C). Use it as “Authorization: Bearer …”. It expires ${utc(created.expires_at)}.`}
      </p>
    </div>
  )
}

function TokenRow({ actor, token }: { actor: Actor; token: TokenViewType }) {
  return (
    <tr data-token-id={token.id}>
      <td data-label="Name" safe>
        {token.name}
      </td>
      <td data-label="Token">
        <code safe>{`${token.prefix}…`}</code>
      </td>
      <td data-label="Created" class="small" safe>
        {utc(token.created_at)}
      </td>
      <td data-label="Expires" class="small">
        {token.expired ? <span class="badge failed">expired</span> : ''} <span safe>{utc(token.expires_at)}</span>
      </td>
      <td data-label="Last used" class="small" safe>
        {token.last_used_at ? utc(token.last_used_at) : 'never'}
      </td>
      <td>
        <form
          method="post"
          action={`/me/tokens/${token.id}/revoke`}
          hx-post={`/me/tokens/${token.id}/revoke`}
          hx-target="#tokens-panel"
          hx-swap="outerHTML"
          hx-confirm={`Revoke the token “${token.name}”? Anything using it is refused from its next request.`}
          class="inline"
        >
          <Csrf actor={actor} />
          <button type="submit" class="link danger-link" aria-label={`Revoke ${token.name}`}>
            Revoke
          </button>
        </form>
      </td>
    </tr>
  )
}

export function TokensPanel({ actor, page, created, error, done, form = {} }: TokensPanelProps) {
  const expiry = form.expires_in_days ?? String(TOKEN_DEFAULT_DAYS)
  return (
    <section class="card" id="tokens-panel" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">Personal access tokens</h2>
      <p class="muted small">
        For scripts and integrations: send a token as <code safe>{'Authorization: Bearer <token>'}</code> to the{' '}
        <a href="/swagger">JSON API</a>. It acts as you, with the roles you hold when it is used.
      </p>
      {created ? <CreatedNotice created={created} /> : ''}
      {error ? (
        <div class="notice error" role="alert" id="tokens-error" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {done ? (
        <div class="notice ok" role="status" id="tokens-done" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      {page.items.length === 0 ? (
        <p class="muted" id="no-tokens">
          You have no tokens.
        </p>
      ) : (
        <table class="stack" id="tokens-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((token) => (
              <TokenRow actor={actor} token={token} />
            ))}
          </tbody>
        </table>
      )}
      <h3 class="subhead">New token</h3>
      <form method="post" action="/me/tokens" hx-post="/me/tokens" hx-target="#tokens-panel" hx-swap="outerHTML" id="new-token-form" class="form-row">
        <Csrf actor={actor} />
        <div class="field grow">
          <label for="token-name">Name</label>
          <input type="text" id="token-name" name="name" required maxlength="100" placeholder="e.g. nightly export" value={form.name ?? ''} />
        </div>
        <div class="field">
          <label for="token-expiry">Expires in</label>
          <select id="token-expiry" name="expires_in_days">
            {EXPIRY_CHOICES.map((days) => (
              <option value={String(days)} selected={String(days) === expiry} safe>
                {`${days} days`}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <button type="submit">Create token</button>
        </div>
      </form>
    </section>
  )
}
