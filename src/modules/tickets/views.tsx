/**
 * The tickets list (/tickets): filters (htmx, pushed into the URL), the table
 * with "load more", and the new-ticket form, which comes back with the message
 * and everything typed when it is refused.
 */
import type { Actor } from '../../../plugins/auth'
import { LoadMoreRow } from '../../../views/components/load-more'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import { KINDS, STATUSES, type TicketSummaryView } from './model'

export const KIND_LABELS: Record<string, string> = { bug: 'Bug', feature: 'Feature', question: 'Question' }
export const STATUS_LABELS: Record<string, string> = {
  open: 'Open',
  triaged: 'Triaged',
  in_progress: 'In progress',
  done: 'Done',
  wontfix: 'Won’t fix',
}
export const PRIORITY_LABELS: Record<string, string> = { low: 'Low', normal: 'Normal', high: 'High', urgent: 'Urgent' }

/** A UTC date and time, labelled as such (pages say which time zone their times are in). */
export const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 16)} UTC`

export interface TicketListFilters {
  status?: string
  kind?: string
  mine?: boolean
  roadmapItemId?: string
}

const listQuery = (filters: TicketListFilters, cursor?: string): string => {
  const params = new URLSearchParams()
  if (filters.status) params.set('status', filters.status)
  if (filters.kind) params.set('kind', filters.kind)
  if (filters.mine) params.set('mine', 'true')
  if (filters.roadmapItemId) params.set('roadmap_item', filters.roadmapItemId)
  if (cursor) params.set('cursor', cursor)
  const text = params.toString()
  return text ? `?${text}` : ''
}

export const Csrf = ({ actor }: { actor: Actor }) => (actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : '')

export function Options({ options, labels, value, blank }: { options: readonly string[]; labels: Record<string, string>; value?: string; blank?: string }) {
  return (
    <>
      {blank ? <option value="" safe>{blank}</option> : ''}
      {options.map((option) => (
        <option value={option} selected={option === value} safe>
          {labels[option] ?? option}
        </option>
      ))}
    </>
  )
}

export function TicketBadges({ ticket }: { ticket: Pick<TicketSummaryView, 'kind' | 'status' | 'priority' | 'public'> }) {
  return (
    <span class="badges">
      <span class={`badge kind-${ticket.kind}`} safe>
        {KIND_LABELS[ticket.kind] ?? ticket.kind}
      </span>{' '}
      <span class={`badge status-${ticket.status}`} safe>
        {STATUS_LABELS[ticket.status] ?? ticket.status}
      </span>{' '}
      {ticket.priority !== 'normal' ? (
        <span class={`badge priority-${ticket.priority}`} safe>
          {`${PRIORITY_LABELS[ticket.priority] ?? ticket.priority} priority`}
        </span>
      ) : (
        ''
      )}{' '}
      <span class={`badge ${ticket.public ? 'public' : 'private'}`}>{ticket.public ? 'Public' : 'Private'}</span>
    </span>
  )
}

export function TicketRows({ page, filters }: { page: Page<TicketSummaryView>; filters: TicketListFilters }) {
  return (
    <>
      {page.items.map((ticket) => (
        <tr data-ticket-id={ticket.id}>
          <td>
            <a href={`/tickets/${ticket.id}`} class="ticket-title" safe>
              {ticket.title}
            </a>
            <div class="muted small" safe>
              {ticket.author ?? ''}
            </div>
          </td>
          <td>
            <TicketBadges ticket={ticket} />
          </td>
          <td class="muted small nowrap" safe>
            {utc(ticket.created_at)}
          </td>
        </tr>
      ))}
      <LoadMoreRow id="tickets-more" columns={3} href={page.next_cursor ? `/tickets${listQuery(filters, page.next_cursor)}` : null} />
    </>
  )
}

export function TicketResults({ page, filters }: { page: Page<TicketSummaryView>; filters: TicketListFilters }) {
  return (
    <section id="ticket-results">
      {filters.roadmapItemId ? (
        <p class="small">
          Showing the tickets linked to one roadmap item. <a href="/tickets">Show all tickets</a>
        </p>
      ) : (
        ''
      )}
      {page.items.length === 0 ? (
        <p class="card muted" id="no-tickets">
          No tickets match.
        </p>
      ) : (
        <div class="table-scroll">
          <table id="tickets-table">
            <thead>
              <tr>
                <th>Ticket</th>
                <th>State</th>
                <th>Filed (UTC)</th>
              </tr>
            </thead>
            <tbody id="ticket-rows">
              <TicketRows page={page} filters={filters} />
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

export interface TicketDraft {
  title?: string
  body?: string
  kind?: string
}

export function NewTicketForm({ actor, error, draft = {}, open = false }: { actor: Actor; error?: string; draft?: TicketDraft; open?: boolean }) {
  return (
    <details class="card" id="new-ticket" open={open || Boolean(error)}>
      <summary>File a ticket</summary>
      <form id="new-ticket-form" method="post" action="/tickets" hx-post="/tickets" hx-target="#new-ticket" hx-swap="outerHTML">
        <Csrf actor={actor} />
        {error ? (
          <div class="notice error" role="alert" id="new-ticket-error" safe>
            {error}
          </div>
        ) : (
          ''
        )}
        <p class="muted small">Only you and the triagers see your ticket until a triager makes it public. Markdown works in the description.</p>
        <div class="field">
          <label for="ticket-kind">Kind</label>
          <select id="ticket-kind" name="kind">
            <Options options={KINDS} labels={KIND_LABELS} value={draft.kind ?? 'bug'} />
          </select>
        </div>
        <div class="field">
          <label for="ticket-title">Title</label>
          <input id="ticket-title" name="title" type="text" required maxlength="200" value={draft.title ?? ''} placeholder="What happened, or what you would like" />
        </div>
        <div class="field">
          <label for="ticket-body">Description</label>
          <textarea id="ticket-body" name="body" required maxlength="20000" placeholder="Steps to reproduce, what you expected, why it matters" safe>
            {draft.body ?? ''}
          </textarea>
        </div>
        <button type="submit">File the ticket</button>
      </form>
    </details>
  )
}

export function TicketsPage({
  actor,
  page,
  filters,
  form = {},
}: {
  actor: Actor
  page: Page<TicketSummaryView>
  filters: TicketListFilters
  /** The new-ticket form: open, or back with a refusal and what was typed. */
  form?: { open?: boolean; error?: string; draft?: TicketDraft }
}) {
  return (
    <Layout title="Tickets" actor={actor} path="/tickets">
      <h1>Tickets</h1>
      <p class="muted">
        Bugs, feature requests and questions. You see the tickets you filed and the public ones; the <a href="/roadmap">roadmap</a> shows what they
        feed into.
      </p>
      {actor.permissions.has('tickets:create') ? <NewTicketForm actor={actor} {...form} /> : ''}
      <form id="ticket-filter" class="card filters" role="search" method="get" action="/tickets" hx-get="/tickets" hx-target="#ticket-results" hx-swap="outerHTML" hx-push-url="true">
        {filters.roadmapItemId ? <input type="hidden" name="roadmap_item" value={filters.roadmapItemId} /> : ''}
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" name="status">
            <Options options={STATUSES} labels={STATUS_LABELS} value={filters.status} blank="Any status" />
          </select>
        </div>
        <div class="field">
          <label for="filter-kind">Kind</label>
          <select id="filter-kind" name="kind">
            <Options options={KINDS} labels={KIND_LABELS} value={filters.kind} blank="Any kind" />
          </select>
        </div>
        <div class="field check">
          <label class="inline">
            <input type="checkbox" name="mine" value="true" checked={filters.mine} /> Only mine
          </label>
        </div>
        <div class="field actions">
          <button type="submit">Filter</button> <a href="/tickets">Clear</a>
        </div>
      </form>
      <TicketResults page={page} filters={filters} />
    </Layout>
  )
}
