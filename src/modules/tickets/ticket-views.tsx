/**
 * One ticket (/tickets/:id): the ticket itself (badges, the rendered body, the
 * author's edit form while it is open, the triage form for triagers) and its
 * thread (comments, "load more", the comment form). Each part is its own htmx
 * target, so a comment or a triage change comes back in place, with any
 * refusal shown beside the form and what was typed kept.
 */
import type { Actor } from '../../../plugins/auth'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import { PHASE_LABELS } from '../roadmap/views'
import { PRIORITIES, STATUSES, type CommentViewType, type TicketDetailView } from './model'
import { Csrf, KIND_LABELS, Options, PRIORITY_LABELS, STATUS_LABELS, TicketBadges, utc } from './views'

interface RoadmapChoice {
  id: string
  title: string
  phase: string
}

export interface TicketMainProps {
  actor: Actor
  ticket: TicketDetailView
  /** Roadmap items to link to (triagers only). */
  choices: RoadmapChoice[]
  error?: string
  done?: string
  /** The edit form's values after a refusal. */
  draft?: { title?: string; body?: string }
}

const Notice = ({ id, kind, message }: { id: string; kind: 'error' | 'ok'; message?: string }) =>
  message ? (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'} id={id} safe>
      {message}
    </div>
  ) : (
    ''
  )

function TriageForm({ actor, ticket, choices }: Pick<TicketMainProps, 'actor' | 'ticket' | 'choices'>) {
  return (
    <form id="triage-form" class="card" method="post" action={`/tickets/${ticket.id}/triage`} hx-post={`/tickets/${ticket.id}/triage`} hx-target="#ticket-main" hx-swap="outerHTML">
      <h2>Triage</h2>
      <Csrf actor={actor} />
      <div class="field-row">
        <div class="field">
          <label for="triage-status">Status</label>
          <select id="triage-status" name="status">
            <Options options={STATUSES} labels={STATUS_LABELS} value={ticket.status} />
          </select>
        </div>
        <div class="field">
          <label for="triage-priority">Priority</label>
          <select id="triage-priority" name="priority">
            <Options options={PRIORITIES} labels={PRIORITY_LABELS} value={ticket.priority} />
          </select>
        </div>
      </div>
      <div class="field">
        <label for="triage-roadmap">Roadmap item</label>
        <select id="triage-roadmap" name="roadmap_item_id">
          <option value="">Not linked</option>
          {choices.map((item) => (
            <option value={item.id} selected={item.id === ticket.roadmap_item_id} safe>
              {`${PHASE_LABELS[item.phase] ?? item.phase}: ${item.title}`}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label class="inline">
          <input type="checkbox" id="triage-public" name="public" value="true" checked={ticket.public} /> Public: every member can see it and comment
        </label>
      </div>
      <button type="submit">Save triage</button>
    </form>
  )
}

function EditForm({ actor, ticket, draft }: Pick<TicketMainProps, 'actor' | 'ticket' | 'draft'>) {
  return (
    <details class="card" id="edit-ticket" open={Boolean(draft)}>
      <summary>Edit the title and description</summary>
      <form method="post" action={`/tickets/${ticket.id}/edit`} hx-post={`/tickets/${ticket.id}/edit`} hx-target="#ticket-main" hx-swap="outerHTML">
        <Csrf actor={actor} />
        <div class="field">
          <label for="edit-title">Title</label>
          <input id="edit-title" name="title" type="text" required maxlength="200" value={draft?.title ?? ticket.title} />
        </div>
        <div class="field">
          <label for="edit-body">Description</label>
          <textarea id="edit-body" name="body" required maxlength="20000" safe>
            {draft?.body ?? ticket.body}
          </textarea>
        </div>
        <button type="submit">Save</button>
      </form>
    </details>
  )
}

export function TicketMain({ actor, ticket, choices, error, done, draft }: TicketMainProps) {
  const safeBody = ticket.body_html
  return (
    <section id="ticket-main">
      <Notice id="ticket-error" kind="error" message={error} />
      <Notice id="ticket-ok" kind="ok" message={done} />
      <article class="card" id="ticket" data-ticket-id={ticket.id}>
        <h1 class="ticket-heading" safe>
          {ticket.title}
        </h1>
        <p>
          <TicketBadges ticket={ticket} />
        </p>
        <p class="muted small" safe>
          {`${KIND_LABELS[ticket.kind] ?? ticket.kind} filed by ${ticket.author ?? 'a former user'} on ${utc(ticket.created_at)}; updated ${utc(ticket.updated_at)}`}
        </p>
        {ticket.roadmap_item ? (
          <p class="small" id="ticket-roadmap">
            On the roadmap:{' '}
            <a href={`/roadmap#item-${ticket.roadmap_item.id}`} safe>
              {ticket.roadmap_item.title}
            </a>{' '}
            <span class="muted" safe>{`(${PHASE_LABELS[ticket.roadmap_item.phase] ?? ticket.roadmap_item.phase})`}</span>
          </p>
        ) : (
          ''
        )}
        <div class="markdown" id="ticket-body">
          {safeBody}
        </div>
      </article>
      {ticket.editable ? <EditForm actor={actor} ticket={ticket} draft={draft} /> : ''}
      {actor.permissions.has('tickets:update') ? <TriageForm actor={actor} ticket={ticket} choices={choices} /> : ''}
    </section>
  )
}

export function CommentItems({ ticketId, page }: { ticketId: string; page: Page<CommentViewType> }) {
  return (
    <>
      {page.items.map((comment) => {
        const safeComment = comment.body_html
        return (
          <li class="comment card" id={`comment-${comment.id}`}>
            <p class="muted small" safe>
              {`${comment.author ?? 'A former user'} · ${utc(comment.created_at)}`}
            </p>
            <div class="markdown">{safeComment}</div>
          </li>
        )
      })}
      {page.next_cursor ? (
        <li id="comments-more">
          <button class="link" hx-get={`/tickets/${ticketId}/comments?cursor=${encodeURIComponent(page.next_cursor)}`} hx-target="#comments-more" hx-swap="outerHTML">
            Load more comments
          </button>
        </li>
      ) : (
        ''
      )}
    </>
  )
}

export function Thread({ actor, ticket, comments, error, draft }: { actor: Actor; ticket: Pick<TicketDetailView, 'id'>; comments: Page<CommentViewType>; error?: string; draft?: string }) {
  return (
    <section id="thread" aria-labelledby="thread-heading">
      <h2 id="thread-heading">Comments</h2>
      {comments.items.length === 0 ? (
        <p class="muted" id="no-comments">
          No comments yet.
        </p>
      ) : (
        <ol class="comments" id="comments">
          <CommentItems ticketId={ticket.id} page={comments} />
        </ol>
      )}
      {actor.permissions.has('tickets:create') ? (
        <form id="comment-form" class="card" method="post" action={`/tickets/${ticket.id}/comments`} hx-post={`/tickets/${ticket.id}/comments`} hx-target="#thread" hx-swap="outerHTML">
          <Csrf actor={actor} />
          <Notice id="comment-error" kind="error" message={error} />
          <div class="field">
            <label for="comment-body">Add a comment (markdown)</label>
            <textarea id="comment-body" name="body" required maxlength="10000" safe>
              {draft ?? ''}
            </textarea>
          </div>
          <button type="submit">Comment</button>
        </form>
      ) : (
        ''
      )}
    </section>
  )
}

export function TicketPage(props: TicketMainProps & { comments: Page<CommentViewType>; commentError?: string; commentDraft?: string }) {
  const { actor, ticket } = props
  return (
    <Layout title={ticket.title} actor={actor} path="/tickets">
      <p>
        <a href="/tickets">← Tickets</a>
      </p>
      <TicketMain {...props} />
      <Thread actor={actor} ticket={ticket} comments={props.comments} error={props.commentError} draft={props.commentDraft} />
    </Layout>
  )
}
