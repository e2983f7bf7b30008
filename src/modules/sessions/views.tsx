/** Pages and htmx fragments of sessions: the list (with "load more"), the new-session form, one session. */
import type { Actor } from '../../../plugins/auth'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import type { SessionSummaryView } from './model'

const when = (iso: string) => iso.replace('T', ' ').slice(0, 16)

export function SessionRows({ page }: { page: Page<SessionSummaryView> }) {
  return (
    <>
      {page.items.map((session) => (
        <tr>
          <td>
            <a href={`/sessions/${session.id}`} class="question" safe>
              {session.question.length > 140 ? `${session.question.slice(0, 140)}…` : session.question}
            </a>
          </td>
          <td>
            <span class={`badge ${session.status}`} safe>
              {session.status}
            </span>
          </td>
          <td class="muted small" safe>
            {when(session.created_at)}
          </td>
        </tr>
      ))}
      {page.next_cursor ? (
        <tr id="load-more-row">
          <td colspan="3">
            <button
              class="link"
              hx-get={`/sessions?cursor=${encodeURIComponent(page.next_cursor)}`}
              hx-target="#load-more-row"
              hx-swap="outerHTML"
            >
              Load more
            </button>
          </td>
        </tr>
      ) : (
        ''
      )}
    </>
  )
}

export function SessionsPage({ actor, page }: { actor: Actor; page: Page<SessionSummaryView> }) {
  return (
    <Layout title="Sessions" actor={actor} path="/sessions">
      <h1>Your sessions</h1>
      <p>
        <a class="button" href="/sessions/new">
          Ask the council
        </a>
      </p>
      {page.items.length === 0 ? (
        <p class="card muted" id="empty-sessions">
          No sessions yet. Ask the council a question to start one.
        </p>
      ) : (
        <table id="sessions-table">
          <thead>
            <tr>
              <th>Question</th>
              <th>Status</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody id="session-rows">
            <SessionRows page={page} />
          </tbody>
        </table>
      )}
    </Layout>
  )
}

export function NewSessionForm({ actor, error, question = '' }: { actor: Actor; error?: string; question?: string }) {
  return (
    <form id="new-session" method="post" action="/sessions" hx-post="/sessions" hx-target="this" hx-swap="outerHTML" class="card">
      {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
      {error ? (
        <div class="notice error" role="alert" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      <div class="field">
        <label for="question">Question</label>
        <textarea id="question" name="question" required placeholder="What should the council deliberate on?" safe>
          {question}
        </textarea>
      </div>
      <button type="submit">Create session</button>
    </form>
  )
}

export function NewSessionPage({ actor }: { actor: Actor }) {
  return (
    <Layout title="Ask the council" actor={actor} path="/sessions/new">
      <h1>Ask the council</h1>
      <NewSessionForm actor={actor} />
    </Layout>
  )
}

export function SessionPage({ actor, session }: { actor: Actor; session: SessionSummaryView }) {
  return (
    <Layout title="Session" actor={actor}>
      <p>
        <a href="/sessions">← Sessions</a>
      </p>
      <article class="card" id="session">
        <h1 class="question" safe>
          {session.question}
        </h1>
        <p>
          <span class={`badge ${session.status}`} id="session-status" safe>
            {session.status}
          </span>{' '}
          <span class="muted small" safe>
            {`palette ${session.palette_id} · created ${when(session.created_at)}`}
          </span>
        </p>
        <p class="muted small" safe>
          {`Tokens: ${session.tokens.total} · Cost: $${session.cost_usd.toFixed(4)}`}
        </p>
      </article>
    </Layout>
  )
}
