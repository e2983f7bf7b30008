/**
 * The roadmap page: filters, then the board — Now / Next / Later columns
 * (stacked on a phone), each item with its linked tickets. Admins get an "add"
 * form and per-item controls (up, down, edit, delete) that post with htmx and
 * get the board back in place, filtered as it was; a refusal comes back in the
 * board with what was typed kept.
 */
import type { Actor } from '../../../plugins/auth'
import { Layout } from '../../../views/layout'
import { STATUS_LABELS as TICKET_STATUS_LABELS } from '../tickets/views'
import { MOVES, ROADMAP_STATUSES, type RoadmapItemViewType } from './model'
import { PHASES, type RoadmapFilters } from './store'

export const PHASE_LABELS: Record<string, string> = { now: 'Now', next: 'Next', later: 'Later' }
const STATUS_LABELS: Record<string, string> = { planned: 'Planned', in_progress: 'In progress', shipped: 'Shipped', dropped: 'Dropped' }
const MOVE_LABELS: Record<string, { symbol: string; word: string }> = {
  up: { symbol: '↑', word: 'up' },
  down: { symbol: '↓', word: 'down' },
  top: { symbol: '⤒', word: 'to the top' },
  bottom: { symbol: '⤓', word: 'to the bottom' },
}

/** What an admin typed into the add or edit form, kept after a refusal. */
export interface ItemDraft {
  /** The item being edited; absent for the add form. */
  id?: string
  title?: string
  description?: string
  phase?: string
  status?: string
}

export interface BoardProps {
  actor: Actor
  items: RoadmapItemViewType[]
  filters: RoadmapFilters
  /** More items matched than one page shows. */
  truncated: boolean
  error?: string
  done?: string
  draft?: ItemDraft
}

const filterQuery = (filters: RoadmapFilters): string => {
  const params = new URLSearchParams()
  if (filters.phase) params.set('phase', filters.phase)
  if (filters.status) params.set('status', filters.status)
  if (filters.q) params.set('q', filters.q)
  const text = params.toString()
  return text ? `?${text}` : ''
}

const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

function Select({ id, name, options, labels, value, blank }: { id: string; name: string; options: readonly string[]; labels: Record<string, string>; value?: string; blank?: string }) {
  return (
    <select id={id} name={name}>
      {blank ? <option value="" safe>{blank}</option> : ''}
      {options.map((option) => (
        <option value={option} selected={option === value} safe>
          {labels[option] ?? option}
        </option>
      ))}
    </select>
  )
}

function ItemFields({ prefix, draft }: { prefix: string; draft: ItemDraft }) {
  return (
    <>
      <div class="field">
        <label for={`${prefix}-title`}>Title</label>
        <input id={`${prefix}-title`} name="title" type="text" required maxlength="200" value={draft.title ?? ''} />
      </div>
      <div class="field">
        <label for={`${prefix}-description`}>Description (markdown)</label>
        <textarea id={`${prefix}-description`} name="description" maxlength="20000" safe>
          {draft.description ?? ''}
        </textarea>
      </div>
      <div class="field-row">
        <div class="field">
          <label for={`${prefix}-phase`}>Phase</label>
          <Select id={`${prefix}-phase`} name="phase" options={PHASES} labels={PHASE_LABELS} value={draft.phase ?? 'next'} />
        </div>
        <div class="field">
          <label for={`${prefix}-status`}>Status</label>
          <Select id={`${prefix}-status`} name="status" options={ROADMAP_STATUSES} labels={STATUS_LABELS} value={draft.status ?? 'planned'} />
        </div>
      </div>
    </>
  )
}

function AdminControls({ actor, item, first, last, query, draft }: { actor: Actor; item: RoadmapItemViewType; first: boolean; last: boolean; query: string; draft?: ItemDraft }) {
  const editing = draft?.id === item.id
  return (
    <div class="admin-controls">
      <div class="inline moves">
        {MOVES.filter((move) => move === 'up' || move === 'down').map((move) => (
          <form method="post" action={`/roadmap/items/${item.id}/move${query}`} hx-post={`/roadmap/items/${item.id}/move${query}`} hx-target="#roadmap-board" hx-swap="outerHTML" class="inline">
            <Csrf actor={actor} />
            <input type="hidden" name="move" value={move} />
            <button
              type="submit"
              class="secondary small-button"
              disabled={(move === 'up' && first) || (move === 'down' && last)}
              aria-label={`Move “${item.title}” ${MOVE_LABELS[move]!.word}`}
              data-move={move}
              safe
            >
              {MOVE_LABELS[move]!.symbol}
            </button>
          </form>
        ))}
        <form
          method="post"
          action={`/roadmap/items/${item.id}/delete${query}`}
          hx-post={`/roadmap/items/${item.id}/delete${query}`}
          hx-target="#roadmap-board"
          hx-swap="outerHTML"
          hx-confirm={`Delete “${item.title}” from the roadmap? Its tickets stay, unlinked.`}
          class="inline"
        >
          <Csrf actor={actor} />
          <button type="submit" class="link danger-link">
            Delete
          </button>
        </form>
      </div>
      <details open={editing}>
        <summary class="small">Edit</summary>
        <form method="post" action={`/roadmap/items/${item.id}/edit${query}`} hx-post={`/roadmap/items/${item.id}/edit${query}`} hx-target="#roadmap-board" hx-swap="outerHTML" class="edit-item">
          <Csrf actor={actor} />
          <ItemFields prefix={`edit-${item.id}`} draft={editing ? draft : item} />
          <button type="submit">Save</button>
        </form>
      </details>
    </div>
  )
}

function ItemCard(props: { actor: Actor; item: RoadmapItemViewType; first: boolean; last: boolean; query: string; draft?: ItemDraft }) {
  const { actor, item } = props
  const safeDescription = item.description_html
  return (
    <li class="card roadmap-item" id={`item-${item.id}`} data-item-id={item.id} data-status={item.status}>
      <h3 safe>{item.title}</h3>
      <p>
        <span class={`badge status-${item.status}`} safe>
          {STATUS_LABELS[item.status] ?? item.status}
        </span>
      </p>
      {safeDescription ? <div class="markdown">{safeDescription}</div> : ''}
      {item.tickets.length > 0 ? (
        <div class="linked">
          <p class="small muted">Tickets</p>
          <ul class="linked-tickets">
            {item.tickets.map((ticket) => (
              <li>
                <a href={`/tickets/${ticket.id}`} safe>
                  {ticket.title}
                </a>{' '}
                <span class={`badge status-${ticket.status}`} safe>
                  {TICKET_STATUS_LABELS[ticket.status] ?? ticket.status}
                </span>
              </li>
            ))}
          </ul>
          <a class="small" href={`/tickets?roadmap_item=${item.id}`}>
            All tickets for this item
          </a>
        </div>
      ) : (
        <p class="small muted">No tickets linked yet.</p>
      )}
      {actor.permissions.has('roadmap:manage') ? <AdminControls {...props} /> : ''}
    </li>
  )
}

export function RoadmapBoard({ actor, items, filters, truncated, error, done, draft }: BoardProps) {
  const query = filterQuery(filters)
  const phases = filters.phase ? [filters.phase] : PHASES
  const admin = actor.permissions.has('roadmap:manage')
  const adding = draft && !draft.id
  return (
    <section id="roadmap-board" aria-live="polite">
      {error ? (
        <div class="notice error" role="alert" id="roadmap-error" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {done ? (
        <div class="notice ok" role="status" id="roadmap-ok" safe>
          {done}
        </div>
      ) : (
        ''
      )}
      {admin ? (
        <details class="card" id="roadmap-new" open={adding}>
          <summary>Add a roadmap item</summary>
          <form method="post" action={`/roadmap/items${query}`} hx-post={`/roadmap/items${query}`} hx-target="#roadmap-board" hx-swap="outerHTML">
            <Csrf actor={actor} />
            <ItemFields prefix="new" draft={adding ? draft : {}} />
            <button type="submit">Add</button>
          </form>
        </details>
      ) : (
        ''
      )}
      {truncated ? <p class="notice">Showing the first 200 matching items; narrow the filters to see the rest.</p> : ''}
      <div class={`board columns-${phases.length}`}>
        {phases.map((phase) => {
          const column = items.filter((item) => item.phase === phase)
          return (
            <section class="phase" data-phase={phase} aria-labelledby={`phase-${phase}`}>
              <h2 id={`phase-${phase}`}>
                <span safe>{PHASE_LABELS[phase]}</span> <span class="muted small" safe>{`(${column.length})`}</span>
              </h2>
              {column.length === 0 ? (
                <p class="muted small empty">Nothing here matches.</p>
              ) : (
                <ol class="items">
                  {column.map((item, index) => (
                    <ItemCard actor={actor} item={item} first={index === 0} last={index === column.length - 1} query={query} draft={draft} />
                  ))}
                </ol>
              )}
            </section>
          )
        })}
      </div>
    </section>
  )
}

export function RoadmapPage(props: BoardProps) {
  const { actor, filters } = props
  return (
    <Layout title="Roadmap" actor={actor} path="/roadmap">
      <h1>Roadmap</h1>
      <p class="muted">
        What we are working on now, next and later. Each item lists the tickets it covers; <a href="/tickets">file a ticket</a> to ask for something.
      </p>
      <form id="roadmap-filter" class="card filters" role="search" method="get" action="/roadmap" hx-get="/roadmap" hx-target="#roadmap-board" hx-swap="outerHTML" hx-push-url="true">
        <div class="field">
          <label for="filter-phase">Phase</label>
          <Select id="filter-phase" name="phase" options={PHASES} labels={PHASE_LABELS} value={filters.phase} blank="All phases" />
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <Select id="filter-status" name="status" options={ROADMAP_STATUSES} labels={STATUS_LABELS} value={filters.status} blank="Any status" />
        </div>
        <div class="field grow">
          <label for="filter-q">Search</label>
          <input id="filter-q" name="q" type="search" maxlength="200" value={filters.q ?? ''} placeholder="Words in the title or description" />
        </div>
        <div class="field actions">
          <button type="submit">Filter</button> <a href="/roadmap">Clear</a>
        </div>
      </form>
      <RoadmapBoard {...props} />
    </Layout>
  )
}
