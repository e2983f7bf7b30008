/**
 * Pages and htmx fragments of sessions: the list (search, status filter,
 * tokens and cost, delete with confirmation, live status badges refreshed by
 * one request for all running rows, "load more"), and the session page: the
 * question, its documents, and its live part (live-views.tsx). The
 * new-session form is in form-views.tsx.
 */
import type { Actor } from '../../identity'
import { LoadMoreRow } from '../../../views/components/load-more'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import type { Page } from '../../pagination'
import { BudgetNoticeSlot } from '../budgets/views'
import { DocumentList } from '../documents/views'
import { SessionProgress, type ProgressProps } from './live-views'
import { SESSION_STATUSES, type SessionSummaryView } from './model'
import { usd } from './results-views'

export { SessionProgress } from './live-views'

const ACTIVE = new Set(['queued', 'running'])

/** The list's filter, as the query string carries it. */
export interface ListFilter {
  q?: string
  status?: string
}

const listQuery = (filter: ListFilter, cursor?: string | null) => {
  const params = new URLSearchParams()
  if (filter.q) params.set('q', filter.q)
  if (filter.status) params.set('status', filter.status)
  if (cursor) params.set('cursor', cursor)
  const query = params.toString()
  return query ? `?${query}` : ''
}

function StatusBadge({ session, oob }: { session: SessionSummaryView; oob?: boolean }) {
  return (
    <span id={`status-${session.id}`} hx-swap-oob={oob ? 'true' : undefined} class="status-cell">
      <span class={`badge ${session.status}`} safe>
        {session.status}
      </span>
      {session.partial ? <span class="badge failed">partial</span> : ''}
    </span>
  )
}

function Figures({ session, oob }: { session: SessionSummaryView; oob?: boolean }) {
  return (
    <>
      <span id={`tokens-${session.id}`} hx-swap-oob={oob ? 'true' : undefined} safe>
        {session.tokens.total.toLocaleString('en-US')}
      </span>
      <span id={`cost-${session.id}`} hx-swap-oob={oob ? 'true' : undefined} safe>
        {usd(session.cost_usd)}
      </span>
    </>
  )
}

/**
 * One request every 3 s for all the running sessions on the page (not one per
 * row); it stops once none is running.
 */
function LiveStatuses({ ids }: { ids: string[] }) {
  if (ids.length === 0) return <div id="live-statuses" />
  return <div id="live-statuses" hx-get={`/sessions/statuses?ids=${ids.join(',')}`} hx-trigger="every 3s" hx-swap="outerHTML" />
}

/** The refresh's answer: the badges and figures of the sessions asked about (swapped in by id), and the next refresh. */
export function StatusUpdates({ sessions }: { sessions: SessionSummaryView[] }) {
  return (
    <>
      <LiveStatuses ids={sessions.filter((session) => ACTIVE.has(session.status)).map((session) => session.id)} />
      {sessions.map((session) => (
        <>
          <StatusBadge session={session} oob />
          <Figures session={session} oob />
        </>
      ))}
    </>
  )
}

export function SessionRows({ actor, page, filter }: { actor: Actor; page: Page<SessionSummaryView>; filter: ListFilter }) {
  return (
    <>
      {page.items.map((session) => (
        <tr id={`session-row-${session.id}`}>
          <td data-label="Question" class="question-cell">
            <a href={`/sessions/${session.id}`} class="question" safe>
              {session.question.length > 140 ? `${session.question.slice(0, 140)}…` : session.question}
            </a>
          </td>
          <td data-label="Status">
            <StatusBadge session={session} />
          </td>
          <td data-label="Tokens" class="num">
            <span id={`tokens-${session.id}`} safe>
              {session.tokens.total.toLocaleString('en-US')}
            </span>
          </td>
          <td data-label="Cost" class="num">
            <span id={`cost-${session.id}`} safe>
              {usd(session.cost_usd)}
            </span>
          </td>
          <td data-label="Created" class="muted small">
            <Time iso={session.created_at} />
          </td>
          <td data-label="" class="row-actions">
            {actor.permissions.has('sessions:delete') ? (
              <form
                method="post"
                action={`/sessions/${session.id}/delete`}
                class="inline"
                hx-post={`/sessions/${session.id}/delete`}
                hx-confirm="Delete this session? It disappears from your list; this cannot be undone here."
                hx-target="closest tr"
                hx-swap="outerHTML"
              >
                {actor.csrfToken ? <input type="hidden" name="_csrf" value={actor.csrfToken} /> : ''}
                <button type="submit" class="link danger-link">
                  Delete
                </button>
              </form>
            ) : (
              ''
            )}
          </td>
        </tr>
      ))}
      <LoadMoreRow id="load-more-row" columns={6} href={page.next_cursor ? `/sessions${listQuery(filter, page.next_cursor)}` : null} />
    </>
  )
}

export function SessionsPage({ actor, page, filter }: { actor: Actor; page: Page<SessionSummaryView>; filter: ListFilter }) {
  const filtered = !!(filter.q || filter.status)
  return (
    <Layout title="Sessions" actor={actor} path="/sessions">
      <h1>Your sessions</h1>
      <BudgetNoticeSlot />
      <p>
        <a class="button" href="/sessions/new">
          Ask the council
        </a>
      </p>
      <form class="filters card" method="get" action="/sessions" role="search" id="session-filters">
        <div class="field grow">
          <label for="q">Search questions</label>
          <input type="search" id="q" name="q" value={filter.q ?? ''} maxlength="200" placeholder="Words in the question" />
        </div>
        <div class="field">
          <label for="status">Status</label>
          <select id="status" name="status">
            <option value="">Any</option>
            {SESSION_STATUSES.map((status) => (
              <option value={status} selected={filter.status === status} safe>
                {status}
              </option>
            ))}
          </select>
        </div>
        <div class="field actions">
          <button type="submit">Search</button> {filtered ? <a href="/sessions">Clear</a> : ''}
        </div>
      </form>
      {page.items.length === 0 ? (
        <p class="card muted" id="empty-sessions">
          {filtered ? 'No session matches this search.' : 'No sessions yet. Ask the council a question to start one.'}
        </p>
      ) : (
        <div class="table-card">
          <table id="sessions-table" class="stack">
            <thead>
              <tr>
                <th>Question</th>
                <th>Status</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
                <th>Created</th>
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody id="session-rows">
              <SessionRows actor={actor} page={page} filter={filter} />
            </tbody>
          </table>
        </div>
      )}
      <LiveStatuses ids={page.items.filter((session) => ACTIVE.has(session.status)).map((session) => session.id)} />
    </Layout>
  )
}

export function SessionPage(props: ProgressProps) {
  return (
    <Layout title="Session" actor={props.actor}>
      <p>
        <a href="/sessions">← Sessions</a>
      </p>
      <BudgetNoticeSlot />
      <article class="card" id="session">
        <h1 class="question" safe>
          {props.session.question}
        </h1>
        <p class="muted small">
          created <Time iso={props.session.created_at} />
        </p>
      </article>
      <DocumentList sessionId={props.session.id} documents={props.session.documents} />
      <SessionProgress {...props} />
    </Layout>
  )
}
