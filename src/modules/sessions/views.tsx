/** Pages and htmx fragments of sessions: the list (with "load more"), the new-session form, one session with live progress and results. */
import type { Actor } from '../../identity'
import { LoadMoreRow } from '../../../views/components/load-more'
import { Layout } from '../../../views/layout'
import { renderMarkdown } from '../../markdown'
import type { Page } from '../../pagination'
import { BudgetNoticeSlot } from '../budgets/views'
import type { JobViewType } from '../jobs/model'
import type { SessionSummaryView } from './model'
import type { SessionResultsView } from './results'
import type { SourceFieldsOptions } from '../documents/form'
import { CitationList, DocumentList, linkCitations, SourceNotes, UploadAssets, UploadFields } from '../documents/views'

const when = (iso: string) => iso.replace('T', ' ').slice(0, 16)
const usd = (value: number) => `$${value.toFixed(4)}`

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
            {session.partial ? <span class="badge failed">partial</span> : ''}
          </td>
          <td class="muted small" safe>
            {when(session.created_at)}
          </td>
        </tr>
      ))}
      <LoadMoreRow
        id="load-more-row"
        columns={3}
        href={page.next_cursor ? `/sessions?cursor=${encodeURIComponent(page.next_cursor)}` : null}
      />
    </>
  )
}

export function SessionsPage({ actor, page }: { actor: Actor; page: Page<SessionSummaryView> }) {
  return (
    <Layout title="Sessions" actor={actor} path="/sessions">
      <h1>Your sessions</h1>
      <BudgetNoticeSlot />
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

/** A palette as the form offers it: locked ones are shown, not selectable, with the way to unlock them. */
export interface PaletteChoice {
  id: string
  name: string
  agents: string[]
  price_cents: number
  unlocked: boolean
}

function PaletteSelect({ palettes, selected: asked }: { palettes: PaletteChoice[]; selected: string }) {
  const locked = palettes.filter((palette) => !palette.unlocked)
  // A locked or unknown choice (from a link) cannot be selected: a disabled option would not be sent.
  const selected = palettes.some((palette) => palette.id === asked && palette.unlocked) ? asked : 'default'
  return (
    <div class="field">
      <label for="palette">Palette</label>
      <select id="palette" name="palette_id">
        {palettes.map((palette) => (
          <option value={palette.id} selected={palette.id === selected} disabled={!palette.unlocked} safe>
            {`${palette.name} — ${palette.agents.length} agents${palette.unlocked ? '' : ` · locked ($${(palette.price_cents / 100).toFixed(2)})`}`}
          </option>
        ))}
      </select>
      {locked.length > 0 ? (
        <p class="muted small" id="locked-palettes">
          <span safe>{`${locked.length} locked: `}</span>
          <a href="/palettes">unlock palettes</a>
        </p>
      ) : (
        ''
      )}
    </div>
  )
}

export function NewSessionForm({
  actor,
  error,
  question = '',
  palettes = [],
  paletteId = 'default',
  sources,
  sourceError,
}: {
  actor: Actor
  error?: string
  question?: string
  palettes?: PaletteChoice[]
  paletteId?: string
  sources?: SourceFieldsOptions
  sourceError?: { field: 'uploads' | 'web_search'; message: string }
}) {
  return (
    <form
      id="new-session"
      method="post"
      action="/sessions"
      hx-post="/sessions"
      hx-target="this"
      hx-swap="outerHTML"
      class="card"
      enctype={sources?.uploads ? 'multipart/form-data' : undefined}
    >
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
      {palettes.length > 0 ? <PaletteSelect palettes={palettes} selected={paletteId} /> : ''}
      <label class="inline small">
        <input type="checkbox" name="run" value="true" checked /> Run the council right away
      </label>
      {sources ? <UploadFields {...sources} error={sourceError} /> : ''}
      <p>
        <button type="submit">Create session</button>
      </p>
    </form>
  )
}

export function NewSessionPage({
  actor,
  sources,
  palettes,
  paletteId,
}: {
  actor: Actor
  sources?: SourceFieldsOptions
  palettes?: PaletteChoice[]
  paletteId?: string
}) {
  return (
    <Layout title="Ask the council" actor={actor} path="/sessions/new">
      <h1>Ask the council</h1>
      {sources ? <UploadAssets /> : ''}
      <NewSessionForm actor={actor} sources={sources} palettes={palettes} paletteId={paletteId} />
    </Layout>
  )
}

const ACTIVE = new Set(['queued', 'running'])

/** The live part of a session page. While its job is active it polls itself; when the job ends it shows the results and stops. */
export function SessionProgress({
  actor,
  session,
  job,
  results,
  error,
}: {
  actor: Actor
  session: SessionSummaryView
  job: JobViewType | null
  results: SessionResultsView | null
  error?: string
}) {
  const active = job ? ACTIVE.has(job.status) : false
  return (
    <section
      id="progress"
      hx-get={active ? `/sessions/${session.id}/progress` : undefined}
      hx-trigger={active ? 'load delay:1s' : undefined}
      hx-swap={active ? 'outerHTML' : undefined}
      aria-live="polite"
    >
      <p>
        <span class={`badge ${session.status}`} id="session-status" safe>
          {session.status}
        </span>{' '}
        {session.partial ? <span class="badge failed">partial council</span> : ''}{' '}
        <span class="muted small" safe>
          {`palette ${session.palette_id} · tokens ${session.tokens.total} · cost ${usd(session.cost_usd)}`}
        </span>
      </p>
      {error ? (
        <div class="notice error" role="alert" safe>
          {error}
        </div>
      ) : (
        ''
      )}
      {job ? (
        <div class="card" id="job">
          <p>
            <strong>Job</strong>{' '}
            <span class={`badge ${job.status}`} id="job-status" safe>
              {job.status}
            </span>{' '}
            <span class="muted small" safe>
              {job.stage ? `stage ${job.stage}` : 'waiting for a worker'}
            </span>
          </p>
          <progress max="100" value={String(job.progress)} id="job-progress" safe>
            {`${job.progress}%`}
          </progress>{' '}
          <a href={`/jobs/${job.id}/logs`} id="job-logs-link">
            Job logs
          </a>{' '}
          {job.error && !active ? (
            <p class="notice error" safe>
              {job.error}
            </p>
          ) : (
            ''
          )}
          {active ? (
            <button class="link" hx-post={`/jobs/${job.id}/cancel`} hx-target="#progress" hx-swap="outerHTML">
              Cancel
            </button>
          ) : (
            ''
          )}
        </div>
      ) : (
        ''
      )}
      {!active && session.status !== 'succeeded' && actor.permissions.has('sessions:run') ? (
        <button hx-post={`/sessions/${session.id}/run`} hx-target="#progress" hx-swap="outerHTML" id="run-button">
          {session.status === 'created' ? 'Run the council' : 'Run again (resumes from the last finished stage)'}
        </button>
      ) : (
        ''
      )}
      {results && !active ? <Results results={results} /> : ''}
    </section>
  )
}

function Results({ results }: { results: SessionResultsView }) {
  const cited = (stage: string, agent: string) => results.citations.filter((c) => c.stage === stage && c.cited_by === agent)
  const safeSynthesis = results.synthesis
    ? linkCitations(renderMarkdown(results.synthesis.content), results.session_id, cited('synthesis', results.synthesis.agent))
    : ''
  return (
    <div id="results">
      <SourceNotes notes={results.source_notes} />
      {results.partial ? (
        <div class="notice error" id="partial-notice">
          <strong>Partial council.</strong> Some members dropped out:
          <ul>
            {results.dropped.map((d) => (
              <li safe>{`${d.agent} (${d.stage}): ${d.error}`}</li>
            ))}
          </ul>
        </div>
      ) : (
        ''
      )}
      {results.synthesis ? (
        <article class="card" id="synthesis">
          <h2>Synthesis</h2>
          <p class="muted small" safe>
            {`by ${results.synthesis.agent} · ${results.synthesis.model ?? ''}`}
          </p>
          <div class="markdown">{safeSynthesis}</div>
        </article>
      ) : (
        ''
      )}
      <CitationList sessionId={results.session_id} citations={results.citations} />
      {results.leaderboard.length > 0 ? (
        <section class="card" id="leaderboard">
          <h2>Leaderboard</h2>
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>Agent</th>
                <th>Mean rank</th>
                <th>Borda</th>
                <th>Votes</th>
              </tr>
            </thead>
            <tbody>
              {results.leaderboard.map((entry) => (
                <tr>
                  <td safe>{String(entry.position)}</td>
                  <td safe>{entry.agent}</td>
                  <td safe>{entry.mean_rank === null ? '—' : String(entry.mean_rank)}</td>
                  <td safe>{String(entry.borda)}</td>
                  <td safe>{String(entry.votes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : (
        ''
      )}
      <section class="card" id="drafts">
        <h2>Drafts</h2>
        {results.drafts.map((draft) => {
          const safeDraft = linkCitations(renderMarkdown(draft.content), results.session_id, cited('draft', draft.agent))
          return (
            <details>
              <summary safe>{`${draft.agent} · ${draft.tokens.output} tokens · ${draft.duration_ms} ms`}</summary>
              <div class="markdown">{safeDraft}</div>
            </details>
          )
        })}
      </section>
      <section class="card" id="reviews">
        <h2>Reviews</h2>
        {results.reviews.map((review) => (
          <details>
            <summary safe>{`${review.reviewer} ranked: ${review.ranking.join(' > ') || '—'} (${review.parse_status})`}</summary>
            <p class="muted small" safe>
              {`Labels seen: ${Object.entries(review.label_map)
                .map(([label, agent]) => `${label}=${agent}`)
                .join(', ')}`}
            </p>
            <pre class="critique" safe>
              {review.critique}
            </pre>
          </details>
        ))}
      </section>
      <section class="card" id="costs">
        <h2>Tokens and cost</h2>
        <table>
          <thead>
            <tr>
              <th>Stage</th>
              <th>Calls</th>
              <th>Tokens</th>
              <th>Cost</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(results.stages).map(([stage, figures]) => (
              <tr>
                <td safe>{stage}</td>
                <td safe>{String(figures.calls)}</td>
                <td safe>{String(figures.tokens)}</td>
                <td safe>{usd(figures.cost_usd)}</td>
              </tr>
            ))}
            <tr>
              <th>Total</th>
              <th />
              <th safe>{String(results.totals.tokens.total)}</th>
              <th safe>{usd(results.totals.cost_usd)}</th>
            </tr>
          </tbody>
        </table>
      </section>
    </div>
  )
}

export function SessionPage(props: {
  actor: Actor
  session: SessionSummaryView
  job: JobViewType | null
  results: SessionResultsView | null
}) {
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
        <p class="muted small" safe>{`created ${when(props.session.created_at)}`}</p>
      </article>
      <DocumentList sessionId={props.session.id} documents={props.session.documents} />
      <SessionProgress {...props} />
    </Layout>
  )
}
