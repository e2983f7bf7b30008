/**
 * /palettes: one card per palette with its members, chair and price, locked or
 * unlocked for the viewer. "Unlock" starts a checkout and the card shows the
 * pending payment; outside production it offers to confirm with the dev proof,
 * and the card turns unlocked in place (htmx swaps the card, no reload).
 */
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'
import type { CheckoutView } from '../payments/model'
import type { PaletteViewType } from './model'

export const price = (cents: number) => (cents === 0 ? 'Free' : `$${(cents / 100).toFixed(2)}`)

/** What a card says about the viewer's last action on it. */
export interface CardState {
  pending?: CheckoutView
  error?: string
  unlockedNow?: boolean
}

export interface CardProps extends CardState {
  actor: Actor
  palette: PaletteViewType
  /** Agent descriptions by name, for the member list. */
  agents: Record<string, string>
}

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

function Member({ name, agents }: { name: string; agents: Record<string, string> }) {
  return (
    <li>
      <strong safe>{name}</strong>
      {agents[name] ? <span class="muted" safe>{` — ${agents[name]}`}</span> : ''}
    </li>
  )
}

function PendingPayment({ actor, palette, pending }: { actor: Actor; palette: PaletteViewType; pending: CheckoutView }) {
  return (
    <div class="notice" role="status" id={`payment-${palette.id}`}>
      <p>
        Payment of <strong safe>{price(pending.amount_cents)}</strong> started (<code safe>{pending.payment_id}</code>).
      </p>
      {pending.dev_proof ? (
        <form
          method="post"
          action={`/palettes/${palette.id}/confirm`}
          hx-post={`/palettes/${palette.id}/confirm`}
          hx-target={`#palette-${palette.id}`}
          hx-swap="outerHTML"
          class="inline wrap"
        >
          <Csrf actor={actor} />
          <input type="hidden" name="payment_id" value={pending.payment_id} />
          <input type="hidden" name="proof" value={pending.dev_proof} />
          <button type="submit" class="confirm-payment">
            Confirm payment (development proof)
          </button>
          <span class="muted small">This server is not in production: the dev proof stands in for the payment provider.</span>
        </form>
      ) : (
        <p class="inline wrap">
          <span class="muted small">Waiting for the payment provider to confirm.</span>
          <button type="button" class="link" hx-get={`/palettes/${palette.id}/card`} hx-target={`#palette-${palette.id}`} hx-swap="outerHTML">
            Check again
          </button>
        </p>
      )}
    </div>
  )
}

function Actions({ actor, palette, pending }: { actor: Actor; palette: PaletteViewType; pending?: CheckoutView }) {
  if (palette.unlocked)
    return actor.permissions.has('sessions:create') ? (
      <a class="button" href={`/sessions/new?palette=${encodeURIComponent(palette.id)}`}>
        Ask with this palette
      </a>
    ) : (
      ''
    )
  if (pending) return <PendingPayment actor={actor} palette={palette} pending={pending} />
  if (!actor.permissions.has('payments:checkout')) return <p class="muted small">Locked. Your roles do not allow payments; ask an administrator.</p>
  return (
    <form
      method="post"
      action={`/palettes/${palette.id}/checkout`}
      hx-post={`/palettes/${palette.id}/checkout`}
      hx-target={`#palette-${palette.id}`}
      hx-swap="outerHTML"
      class="inline"
    >
      <Csrf actor={actor} />
      <button type="submit" class="unlock" safe>
        {`Unlock for ${price(palette.price_cents)}`}
      </button>
    </form>
  )
}

export function PaletteCard({ actor, palette, agents, pending, error, unlockedNow }: CardProps) {
  const state = palette.unlocked ? 'unlocked' : pending ? 'pending' : 'locked'
  return (
    <article class="card palette" id={`palette-${palette.id}`} data-palette-id={palette.id} data-state={state} aria-labelledby={`palette-${palette.id}-name`}>
      <header class="palette-head">
        <h2 id={`palette-${palette.id}-name`} safe>
          {palette.name}
        </h2>
        <span class="chips">
          <span class="badge price" safe>
            {price(palette.price_cents)}
          </span>
          {palette.price_cents > 0 ? (
            <span class={`badge ${palette.unlocked ? 'succeeded' : 'locked'}`}>{palette.unlocked ? 'Unlocked' : 'Locked'}</span>
          ) : (
            ''
          )}
        </span>
      </header>
      {palette.description ? <p safe>{palette.description}</p> : ''}
      <p class="small label" safe>
        {`Members (${palette.agents.length})`}
      </p>
      <ul class="members">
        {palette.agents.map((name) => (
          <Member name={name} agents={agents} />
        ))}
      </ul>
      <p class="small">
        <span class="label">Chair: </span>
        <strong safe>{palette.chair}</strong>
        {agents[palette.chair] ? <span class="muted" safe>{` — ${agents[palette.chair]}`}</span> : ''}
      </p>
      {unlockedNow ? (
        <div class="notice ok" role="status">
          Unlocked. You can now run councils with this palette.
        </div>
      ) : (
        ''
      )}
      {error ? (
        <div class="notice error" role="alert" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      <div class="palette-actions">
        <Actions actor={actor} palette={palette} pending={pending} />
      </div>
    </article>
  )
}

export function PalettesPage({
  actor,
  palettes,
  agents,
  focus,
}: {
  actor: Actor
  palettes: PaletteViewType[]
  agents: Record<string, string>
  /** A plain form post's outcome, shown on its card. */
  focus?: { id: string } & CardState
}) {
  return (
    <Layout title="Palettes" actor={actor} path="/palettes">
      <h1>Palettes</h1>
      <p class="muted">
        A palette is the set of agents that drafts and reviews, and the chair that writes the synthesis. Free palettes are open
        to everyone; a priced one is unlocked for you once paid.
      </p>
      <div class="palette-grid" id="palettes">
        {palettes.map((palette) => (
          <PaletteCard actor={actor} palette={palette} agents={agents} {...(focus?.id === palette.id ? focus : {})} />
        ))}
      </div>
    </Layout>
  )
}
