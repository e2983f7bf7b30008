/**
 * A finished council explained: sources it could not use, the synthesis (the
 * user's question quoted in it stays as they wrote it; its citations linked),
 * the sources cited, the leaderboard as a small SVG chart with what
 * its figures mean, how much the reviewers agreed (Kendall's W), who dropped
 * out and why, the reviews and the cost per stage.
 */
import { CitationList, linkCitations, SourceNotes } from '../documents/views'
import { renderOutput } from './rendered'
import type { SessionResultsView } from './results'

export const usd = (value: number) => `$${value.toFixed(4)}`
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** What Kendall's W says, in words. */
function agreementWords(w: number): string {
  if (w >= 0.7) return 'strong agreement: the reviewers ranked the drafts much alike'
  if (w >= 0.4) return 'moderate agreement: the reviewers agreed on some of the order'
  if (w >= 0.15) return 'weak agreement: the reviewers mostly ranked the drafts differently'
  return 'no real agreement: the reviewers’ rankings contradict each other'
}

const droppedWhy: Record<string, string> = {
  draft: 'wrote no draft, so it was not ranked',
  review: 'wrote no review, so its ranking is not counted',
  synthesis: 'could not write the synthesis, so another member wrote it',
}

/** The leaderboard as horizontal bars of Borda points, each labelled with its place, mean rank and votes. */
function LeaderboardChart({ leaderboard }: { leaderboard: SessionResultsView['leaderboard'] }) {
  const rowHeight = 34
  const height = leaderboard.length * rowHeight + 4
  const most = Math.max(1, ...leaderboard.map((entry) => entry.borda))
  return (
    <svg
      class="chart"
      viewBox={`0 0 360 ${height}`}
      role="img"
      aria-labelledby="leaderboard-chart-title"
      preserveAspectRatio="xMinYMin meet"
      id="leaderboard-chart"
    >
      <title id="leaderboard-chart-title">Borda points per draft, best first</title>
      {leaderboard.map((entry, i) => {
        const y = i * rowHeight
        const width = Math.max(2, Math.round((150 * entry.borda) / most))
        return (
          <g class={i === 0 ? 'bar first' : 'bar'}>
            <text x="0" y={String(y + 14)} class="label" safe>
              {`${entry.position}. ${entry.agent}`}
            </text>
            <rect x="120" y={String(y + 2)} width={String(width)} height="16" rx="3" />
            <text x={String(126 + width)} y={String(y + 14)} class="value" safe>
              {entry.borda === 1 ? '1 pt' : `${entry.borda} pts`}
            </text>
            <text x="120" y={String(y + 30)} class="note" safe>
              {`mean rank ${entry.mean_rank ?? '—'} · ${plural(entry.votes, 'vote')}`}
            </text>
          </g>
        )
      })}
    </svg>
  )
}

/** The outcome first: who dropped out, the synthesis, the leaderboard and the reviewers' agreement. */
export function ResultsSummary({ results, question }: { results: SessionResultsView; question: string }) {
  const synthesis = results.synthesis
  const safeSynthesis = synthesis
    ? linkCitations(
        renderOutput(`${results.session_id}:synthesis:${synthesis.agent}`, synthesis.content, question),
        results.session_id,
        results.citations.filter((c) => c.stage === 'synthesis' && c.cited_by === synthesis.agent),
      )
    : ''
  const agreement = results.agreement
  return (
    <div id="results">
      <SourceNotes notes={results.source_notes} />
      {results.partial ? (
        <div class="notice warn" id="partial-notice" role="status">
          <strong safe>{`Partial council: ${plural(results.dropped.length, 'member')} dropped out.`}</strong>
          <ul>
            {results.dropped.map((d) => (
              <li>
                <strong safe>{d.agent}</strong>
                <span safe>{` ${droppedWhy[d.stage] ?? `failed at the ${d.stage} stage`}. Reason: ${d.error}`}</span>
              </li>
            ))}
          </ul>
          <p class="small">The answer below is built from the members who took part.</p>
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
          <LeaderboardChart leaderboard={results.leaderboard} />
          <p class="small muted" id="leaderboard-explained">
            <strong>Mean rank</strong> is the average place the reviewers gave a draft (1 is best). <strong>Borda</strong> gives a
            draft one point for each draft ranked below it in every review; more is better. <strong>Votes</strong> is how many
            reviews ranked it. Places follow mean rank, then Borda, then votes.
          </p>
          <p class="small" id="agreement">
            {agreement ? (
              <>
                <strong safe>{`Reviewer agreement (Kendall’s W): ${agreement.w.toFixed(2)}`}</strong>
                <span safe>{` — ${agreementWords(agreement.w)}. W runs from 0 (no agreement) to 1 (identical rankings); here over ${plural(agreement.reviewers, 'review')} of ${plural(agreement.items, 'draft')}.`}</span>
              </>
            ) : (
              'Reviewer agreement: too few rankings to measure.'
            )}
          </p>
          <div class="table-scroll">
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
                    <td data-label="#" safe>
                      {String(entry.position)}
                    </td>
                    <td data-label="Agent" safe>
                      {entry.agent}
                    </td>
                    <td data-label="Mean rank" safe>
                      {entry.mean_rank === null ? '—' : String(entry.mean_rank)}
                    </td>
                    <td data-label="Borda" safe>
                      {String(entry.borda)}
                    </td>
                    <td data-label="Votes" safe>
                      {String(entry.votes)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : (
        ''
      )}
    </div>
  )
}

/** The working under the outcome: each review and the cost per stage. */
export function ResultsDetails({ results }: { results: SessionResultsView }) {
  return (
    <div id="result-details">
      {results.reviews.length > 0 ? (
        <section class="card" id="reviews">
          <h2>Reviews</h2>
          {results.reviews.map((review) => (
            <details>
              <summary safe>{`${review.reviewer} ranked: ${review.ranking.join(' › ') || '—'} (${review.parse_status})`}</summary>
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
      ) : (
        ''
      )}
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
