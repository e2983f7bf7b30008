/**
 * The live part of a session page (#progress). While its job runs, the page
 * follows the job's event stream (/assets/live.js): one card per member with
 * its state (waiting, drafting, drafted, reviewing, done, failed), elapsed
 * time, tokens and cost, its draft growing as it is written and then rendered,
 * who has ranked whom, and the chair writing the synthesis; at `done` the
 * server-rendered results replace the section. If the stream cannot be had,
 * the script falls back to this section polling itself (`poll`).
 */
import type { PaletteRow, StageOutputRow } from '../../../db/schema'
import type { Actor } from '../../identity'
import type { JobViewType } from '../jobs/model'
import type { SessionSummaryView } from './model'
import { linkCitations } from '../documents/views'
import { citationsOf, type SessionResultsView } from './results'
import { renderOutput } from './rendered'
import { ResultsDetails, ResultsSummary, usd } from './results-views'

const ACTIVE = new Set(['queued', 'running'])
const STAGES = [
  ['sources', 'Reading documents'],
  ['draft', 'Drafts'],
  ['review', 'Reviews'],
  ['synthesis', 'Synthesis'],
] as const

interface Council {
  palette: PaletteRow | undefined
  rows: StageOutputRow[]
  results: SessionResultsView
}

export interface ProgressProps {
  actor: Actor
  session: SessionSummaryView
  job: JobViewType | null
  council: Council | null
  /** The session has documents or asked for a web search: the council reads them first (the `sources` stage). */
  sources?: boolean
  error?: string
  /** The stream failed: the section refreshes itself every 2 s instead. */
  poll?: boolean
}

type CardState = 'waiting' | 'drafting' | 'drafted' | 'reviewing' | 'writing' | 'done' | 'failed'

interface Card {
  agent: string
  chair: boolean
  state: CardState
  tokens: number
  costUsd: number
  elapsedMs: number
  draft?: StageOutputRow
  review?: StageOutputRow
  error?: string
}

/** Each member's card as the stored outputs show it (the stream then takes over). */
function cardsOf(council: Council, finished: boolean): Card[] {
  const palette = council.palette
  const names = palette ? [...palette.agentNames, ...(palette.agentNames.includes(palette.chair) ? [] : [palette.chair])] : []
  for (const row of council.rows) if (row.agent !== '*' && !names.includes(row.agent)) names.push(row.agent)
  return names.map((agent) => {
    const rows = council.rows.filter((row) => row.agent === agent && row.stage !== 'aggregate')
    const ok = (stage: string) => rows.find((row) => row.stage === stage && row.status === 'ok')
    const failed = rows.find((row) => row.status === 'failed' && !ok(row.stage))
    const chair = palette?.chair === agent && !palette.agentNames.includes(agent)
    const state: CardState = failed
      ? 'failed'
      : ok('synthesis') || ok('review')
        ? 'done'
        : ok('draft')
          ? finished ? 'done' : 'drafted'
          : 'waiting'
    return {
      agent,
      chair,
      state,
      tokens: rows.filter((row) => row.status === 'ok').reduce((sum, row) => sum + row.tokensIn + row.tokensOut, 0),
      costUsd: rows.reduce((sum, row) => sum + row.costMicroUsd, 0) / 1_000_000,
      elapsedMs: rows.reduce((sum, row) => sum + row.durationMs, 0),
      draft: ok('draft'),
      review: ok('review'),
      error: failed?.error ?? undefined,
    }
  })
}

const seconds = (ms: number) => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`)

/** A landed draft, rendered from markdown (the question it quotes stays as written), its citations linked to their sources. */
export function DraftBody({ row, question, open }: { row: StageOutputRow; question: string; open: boolean }) {
  const safeDraft = linkCitations(renderOutput(row.id, row.content ?? '', question), row.sessionId ?? row.runId, citationsOf(row))
  return (
    <details class="draft" open={open}>
      <summary safe>{`Draft · ${row.tokensOut} tokens · ${seconds(row.durationMs)}`}</summary>
      <div class="markdown">{safeDraft}</div>
    </details>
  )
}

/** Whom a member ranked, best first. */
export function ReviewNote({ row }: { row: StageOutputRow }) {
  const ranking = (row.data?.ranking as string[] | undefined) ?? []
  const status = (row.data?.parse_status as string | undefined) ?? 'unparsed'
  return (
    <span safe>{ranking.length > 0 ? `Ranked: ${ranking.join(' › ')}${status === 'parsed' ? '' : ` (${status})`}` : 'Reviewed, but its ranking could not be read'}</span>
  )
}

function MemberCard({ card, question, finished }: { card: Card; question: string; finished: boolean }) {
  return (
    <li class="member" id={`member-${card.agent}`} data-agent={card.agent} data-state={card.state} data-chair={card.chair ? 'true' : undefined}>
      <div class="member-head">
        <strong safe>{card.agent}</strong>
        {card.chair ? <span class="muted small">chair</span> : ''}
        <span class={`badge state-${card.state}`} data-role="state" safe>
          {card.state}
        </span>
      </div>
      <p class="member-figures small muted">
        <span data-role="elapsed" safe>
          {card.elapsedMs > 0 ? seconds(card.elapsedMs) : '—'}
        </span>
        {' · '}
        <span data-role="tokens" safe>
          {`${card.tokens.toLocaleString('en-US')} tokens`}
        </span>
        {' · '}
        <span data-role="cost" safe>
          {usd(card.costUsd)}
        </span>
      </p>
      <div class="member-body" data-role="body">
        {card.draft ? <DraftBody row={card.draft} question={question} open={!finished} /> : ''}
      </div>
      <p class="member-review small" data-role="review">
        {card.review ? <ReviewNote row={card.review} /> : ''}
      </p>
      <p class="member-error small" data-role="error" safe>
        {card.error ?? ''}
      </p>
    </li>
  )
}

/** What ended a job, in words, and whether running the session again can help. */
function outcome(session: SessionSummaryView, job: JobViewType | null, palette: PaletteRow | undefined, known: boolean) {
  if (session.status === 'succeeded') return { rerun: false, text: null }
  if (known && (!palette || palette.agentNames.length === 0))
    return {
      rerun: false,
      text: `The palette “${session.palette_id}” ${palette ? 'has no agents' : 'no longer exists'}, so this council cannot run. Ask the question again with another palette.`,
    }
  if (!job) return { rerun: true, text: null }
  if (ACTIVE.has(job.status))
    return { rerun: false, text: job.status === 'queued' && job.error ? `The last attempt failed (${job.error}); it will be retried shortly.` : null }
  if (job.status === 'cancelled') return { rerun: true, text: 'You cancelled this council. Stages that had finished are kept; running it again resumes from them.' }
  const failure = (job.output?.failure as string | undefined) ?? 'retryable'
  if (failure === 'permanent') return { rerun: false, text: `This council cannot succeed as it is: ${job.error ?? 'it failed'}. Running it again would fail the same way.` }
  if (failure === 'budget') return { rerun: true, text: `Your daily budget stopped this council. ${job.error ?? ''} You can run it again once the budget resets at 00:00 UTC.` }
  return {
    rerun: true,
    text: `The council failed after ${job.attempts === 1 ? 'one attempt' : `${job.attempts} attempts`}: ${job.error ?? 'unknown error'}. This is usually temporary (a provider outage or a lost worker); running it again resumes from the last finished stage.`,
  }
}

const jobLine = (job: JobViewType) =>
  job.status === 'queued' ? 'waiting for a worker' : job.status === 'running' ? `stage ${job.stage ?? 'starting'}` : job.stage ? `ended at the ${job.stage} stage` : ''

export function SessionProgress({ actor, session, job, council, sources, error, poll }: ProgressProps) {
  const active = job ? ACTIVE.has(job.status) : false
  const finished = !!job && !active
  const why = outcome(session, job, council?.palette, council !== null)
  const cards = council && job ? cardsOf(council, finished) : []
  const stages = STAGES.filter(([stage]) => stage !== 'sources' || sources || job?.stage === 'sources').map(
    ([stage, label]) => [stage, stage === 'sources' && session.documents.length === 0 ? 'Searching the web' : label] as const,
  )
  const stageIndex = stages.findIndex(([stage]) => stage === job?.stage)
  return (
    <section
      id="progress"
      data-session={session.id}
      data-job={job?.id}
      data-stream={active && !poll && job ? `/sessions/${session.id}/events?job=${job.id}` : undefined}
      data-poll={active ? `/sessions/${session.id}/progress?poll=1` : undefined}
      hx-get={active && poll ? `/sessions/${session.id}/progress?poll=1` : undefined}
      hx-trigger={active && poll ? 'load delay:2s' : undefined}
      hx-swap={active && poll ? 'outerHTML' : undefined}
      aria-live="polite"
    >
      <p class="status-line">
        <span class={`badge ${session.status}`} id="session-status" safe>
          {session.status}
        </span>{' '}
        {session.partial ? <span class="badge failed">partial council</span> : ''}{' '}
        <span class="muted small" id="session-figures" data-palette={session.palette_id} safe>
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
          <p class="job-line">
            <strong>Council</strong>{' '}
            <span class={`badge ${job.status}`} id="job-status" safe>
              {job.status}
            </span>{' '}
            <span class="muted small" id="job-stage" safe>
              {jobLine(job)}
            </span>
          </p>
          <ol class="stages" id="stages">
            {stages.map(([stage, label], i) => (
              <li data-stage={stage} class={job.status === 'succeeded' || i < stageIndex ? 'done' : i === stageIndex && active ? 'current' : ''} safe>
                {label}
              </li>
            ))}
          </ol>
          <progress max="100" value={String(job.progress)} id="job-progress" safe>
            {`${job.progress}%`}
          </progress>
          <p class="job-actions small">
            <a href={`/jobs/${job.id}/logs`} id="job-logs-link">
              Job logs
            </a>
            {active ? (
              <button
                class="link danger-link"
                id="cancel-button"
                hx-post={`/jobs/${job.id}/cancel`}
                hx-confirm="Cancel this council? Stages that have finished are kept, and you can run it again later."
                hx-target="#progress"
                hx-swap="outerHTML"
              >
                Cancel
              </button>
            ) : (
              ''
            )}
          </p>
          {why.text ? (
            <p class={`notice ${job.status === 'failed' ? 'error' : 'warn'}`} id="job-outcome" safe>
              {why.text}
            </p>
          ) : (
            ''
          )}
          {job.error && finished && job.status === 'failed' ? (
            <p class="muted small" id="job-error" safe>
              {`Error: ${job.error}`}
            </p>
          ) : (
            ''
          )}
        </div>
      ) : why.text ? (
        <p class="notice error" id="job-outcome" safe>
          {why.text}
        </p>
      ) : (
        ''
      )}
      {!active && why.rerun && actor.permissions.has('sessions:run') ? (
        <button hx-post={`/sessions/${session.id}/run`} hx-target="#progress" hx-swap="outerHTML" id="run-button">
          {session.status === 'created' ? 'Run the council' : 'Run again (resumes from the last finished stage)'}
        </button>
      ) : (
        ''
      )}
      {council && finished ? <ResultsSummary results={council.results} question={session.question} /> : ''}
      {active ? (
        <article class="card synthesis-live" id="synthesis-live" hidden>
          <h2>Synthesis</h2>
          <pre class="stream" data-role="stream" />
        </article>
      ) : (
        ''
      )}
      {cards.length > 0 ? (
        <section class="card" id="drafts">
          <h2>Council members</h2>
          <ol class="members" id="members">
            {cards.map((card) => (
              <MemberCard card={card} question={session.question} finished={finished} />
            ))}
          </ol>
        </section>
      ) : (
        ''
      )}
      {council && finished ? <ResultsDetails results={council.results} /> : ''}
      {active ? (
        <noscript>
          <p class="small">
            This page updates itself with JavaScript; without it, <a href={`/sessions/${session.id}`}>reload</a> to see progress.
          </p>
        </noscript>
      ) : (
        ''
      )}
    </section>
  )
}
