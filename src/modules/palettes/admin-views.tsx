/**
 * /admin/palettes: every palette with an edit form (members, chair, price), and
 * a form for a new one. Changes swap the panel in place; a refusal is shown
 * beside the form it concerns, with what was typed kept.
 */
import type { AgentRow } from '../../../db/schema'
import type { Actor } from '../../identity'
import { Layout } from '../../../views/layout'
import { MAX_PALETTE_AGENTS, type PaletteViewType } from './model'
import { price } from './views'

/** What an admin's palette form sends; every field a string (or several agents). */
export interface PaletteFormValues {
  id?: string
  name?: string
  description?: string
  agents?: string | string[]
  chair?: string
  price?: string
}

export interface AdminPalettesProps {
  actor: Actor
  palettes: PaletteViewType[]
  agents: Pick<AgentRow, 'name' | 'description'>[]
  done?: string
  /** A refused change: which form (a palette id, or "new"), the message, and what was typed. */
  refused?: { form: string; message: string; values: PaletteFormValues }
}

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

const asList = (agents: PaletteFormValues['agents']) => (agents === undefined ? [] : Array.isArray(agents) ? agents : [agents])

const dollars = (cents: number) => (cents / 100).toFixed(2)

function PaletteFields({ prefix, values, agents }: { prefix: string; values: PaletteFormValues; agents: AdminPalettesProps['agents'] }) {
  const chosen = new Set(asList(values.agents))
  return (
    <>
      <div class="field">
        <label for={`${prefix}-name`}>Name</label>
        <input type="text" id={`${prefix}-name`} name="name" required maxlength="80" value={values.name ?? ''} />
      </div>
      <div class="field">
        <label for={`${prefix}-description`}>Description</label>
        <textarea id={`${prefix}-description`} name="description" maxlength="500" class="short" safe>
          {values.description ?? ''}
        </textarea>
      </div>
      <fieldset class="field">
        <legend>{`Members (1 to ${MAX_PALETTE_AGENTS})`}</legend>
        <div class="checks">
          {agents.map((agent) => (
            <label class="check">
              <input type="checkbox" name="agents" value={agent.name} checked={chosen.has(agent.name)} />
              <span safe>{agent.name}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div class="form-row">
        <div class="field grow">
          <label for={`${prefix}-chair`}>Chair</label>
          <select id={`${prefix}-chair`} name="chair">
            {agents.map((agent) => (
              <option value={agent.name} selected={agent.name === values.chair} safe>
                {agent.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field grow">
          <label for={`${prefix}-price`}>Price in USD (0 = free)</label>
          <input type="text" inputmode="decimal" id={`${prefix}-price`} name="price" required pattern="\d{1,5}(\.\d{1,2})?" value={values.price ?? '0.00'} />
        </div>
      </div>
    </>
  )
}

function Refusal({ refused, form }: { refused: AdminPalettesProps['refused']; form: string }) {
  return refused?.form === form ? (
    <div class="notice error" role="alert" id={`palette-form-error-${form}`} safe>
      {refused.message}
    </div>
  ) : (
    ''
  )
}

function EditPalette({ actor, palette, agents, refused }: { actor: Actor; palette: PaletteViewType; agents: AdminPalettesProps['agents']; refused: AdminPalettesProps['refused'] }) {
  const mine = refused?.form === palette.id
  const values: PaletteFormValues = mine
    ? refused.values
    : { name: palette.name, description: palette.description, agents: palette.agents, chair: palette.chair, price: dollars(palette.price_cents) }
  return (
    <details class="card admin-palette" id={`admin-palette-${palette.id}`} open={mine}>
      <summary>
        <span safe>{palette.name}</span> <code class="small" safe>{palette.id}</code>{' '}
        <span class="badge" safe>
          {price(palette.price_cents)}
        </span>{' '}
        <span class="muted small" safe>
          {`${palette.agents.length} members · chaired by ${palette.chair}`}
        </span>
      </summary>
      <Refusal refused={refused} form={palette.id} />
      <form method="post" action={`/admin/palettes/${palette.id}`} hx-post={`/admin/palettes/${palette.id}`} hx-target="#palette-admin" hx-swap="outerHTML">
        <Csrf actor={actor} />
        <PaletteFields prefix={`edit-${palette.id}`} values={values} agents={agents} />
        <button type="submit">Save changes</button>
      </form>
    </details>
  )
}

export function AdminPalettesPanel({ actor, palettes, agents, done, refused }: AdminPalettesProps) {
  const fresh = refused?.form === 'new' ? refused.values : { chair: 'chair', price: '0.00' }
  return (
    <div id="palette-admin">
      {done ? (
        <div class="notice ok" role="status" id="palette-admin-done" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      <h2>Existing palettes</h2>
      {palettes.map((palette) => (
        <EditPalette actor={actor} palette={palette} agents={agents} refused={refused} />
      ))}
      <section class="card" aria-labelledby="new-palette-heading">
        <h2 id="new-palette-heading">New palette</h2>
        <Refusal refused={refused} form="new" />
        <form method="post" action="/admin/palettes" hx-post="/admin/palettes" hx-target="#palette-admin" hx-swap="outerHTML" id="new-palette-form">
          <Csrf actor={actor} />
          <div class="field">
            <label for="new-id">Id</label>
            <input type="text" id="new-id" name="id" required maxlength="64" pattern="[a-z0-9][a-z0-9\-]{0,63}" placeholder="e.g. legal-review" value={fresh.id ?? ''} />
          </div>
          <PaletteFields prefix="new" values={fresh} agents={agents} />
          <button type="submit">Create palette</button>
        </form>
      </section>
    </div>
  )
}

export function AdminPalettesPage(props: AdminPalettesProps) {
  return (
    <Layout title="Palettes · Admin" actor={props.actor} path="/admin">
      <h1>Palettes</h1>
      <p class="muted">
        Members draft and review; the chair writes the synthesis. A priced palette is unlocked per person by a payment; changing a
        price does not lock anyone out who already unlocked it. Every change is audited.
      </p>
      <AdminPalettesPanel {...props} />
    </Layout>
  )
}
