/**
 * The council quality page (/admin/quality): one card per measure with its
 * reading, a small SVG bar chart (titled and described for screen readers)
 * and the same figures as a table behind it; 7d / 30d / 90d switch the window
 * through htmx (the panel alone is swapped, the address follows).
 * The bar chart is this module's own, so the page depends on no other module's views.
 */
import type { PropsWithChildren } from '@kitajs/html'
import type { Actor } from '../../identity'
import { Time } from '../../../views/components/time'
import { Layout } from '../../../views/layout'
import type { QualityView } from './model'
import { QUALITY_WINDOWS } from './service'

interface Bar {
  label: string
  value: number
  /** The value as shown beside the bar. */
  text: string
}

interface BarChartProps {
  id: string
  title: string
  description: string
  bars: Bar[]
  /** The value a full-width bar stands for. */
  max: number
  /** A dashed line across the bars (e.g. what chance gives), with its label. */
  reference?: { value: number; label: string }
  /** The table behind the chart: column headings and one row of cells per line. */
  table: { head: string[]; rows: Array<Array<string | number>> }
}

const LABEL_W = 118
const BAR_W = 190
const ROW_H = 26

/** Horizontal bars (they fit a phone), a <title> and <desc> for screen readers, and the table view behind it. */
function BarChart({ id, title, description, bars, max, reference, table }: BarChartProps) {
  const height = bars.length * ROW_H + (reference ? 18 : 4)
  const x = (value: number) => LABEL_W + Math.round((BAR_W * Math.min(value, max)) / (max || 1))
  return (
    <figure class="qchart" id={id}>
      <svg viewBox={`0 0 380 ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} preserveAspectRatio="xMinYMin meet">
        <title id={`${id}-title`} safe>
          {title}
        </title>
        <desc id={`${id}-desc`} safe>
          {description}
        </desc>
        {reference ? (
          <g class="reference">
            <line x1={String(x(reference.value))} x2={String(x(reference.value))} y1="0" y2={String(bars.length * ROW_H)} />
            <text x={String(x(reference.value))} y={String(bars.length * ROW_H + 13)} text-anchor="middle" class="note" safe>
              {reference.label}
            </text>
          </g>
        ) : (
          ''
        )}
        {bars.map((bar, i) => {
          const y = i * ROW_H
          return (
            <g class="bar">
              <text x="0" y={String(y + 15)} class="label" safe>
                {bar.label}
              </text>
              <rect x={String(LABEL_W)} y={String(y + 3)} width={String(Math.max(2, x(bar.value) - LABEL_W))} height="16" rx="3">
                <title safe>{`${bar.label}: ${bar.text}`}</title>
              </rect>
              <text x={String(x(bar.value) + 6)} y={String(y + 15)} class="value" safe>
                {bar.text}
              </text>
            </g>
          )
        })}
      </svg>
      <figcaption class="muted small" safe>
        {title}
      </figcaption>
      <details class="table-view">
        <summary>Table view</summary>
        <div class="table-scroll">
          <table>
            <caption class="visually-hidden" safe>
              {title}
            </caption>
            <thead>
              <tr>
                {table.head.map((heading, i) => (
                  <th class={i > 0 ? 'num' : undefined} safe>
                    {heading}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr>
                  {row.map((cell, i) => (
                    <td class={i > 0 ? 'num' : undefined} safe>
                      {String(cell)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  )
}

const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 1000) / 10} %`)
const number = (value: number | null) => (value === null ? '—' : String(value))
const ordinal = (n: number) => `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`
const range = (from: number, to: number) => `${from} to ${to}`

function Measure({ id, title, councils, reading, children }: PropsWithChildren<{ id: string; title: string; councils: number; reading: string }>) {
  return (
    <section class="card quality-measure" id={id} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`} safe>
        {title}
      </h2>
      <p class="muted small" safe>
        {`${councils} ${councils === 1 ? 'council' : 'councils'} behind this figure`}
      </p>
      <p class="reading" safe>
        {reading}
      </p>
      {children}
    </section>
  )
}

export function QualityPanel({ report }: { report: QualityView }) {
  const position = report.position_bias
  const length = report.length_bias
  const self = report.self_preference
  const parsing = report.unparsed_reviews
  const agreement = report.agreement
  return (
    <div id="quality-panel">
      <nav class="window-switch" aria-label="Window">
        {QUALITY_WINDOWS.map((window) => (
          <a
            href={`/admin/quality?window=${window}`}
            hx-get={`/admin/quality?window=${window}`}
            hx-target="#quality-panel"
            hx-swap="outerHTML"
            hx-push-url="true"
            aria-current={report.window === window ? 'true' : undefined}
            class={report.window === window ? 'button' : 'button secondary'}
          >
            {window}
          </a>
        ))}
      </nav>
      <p class="muted small" id="quality-window">
        <span safe>{`${report.councils} ${report.councils === 1 ? 'council' : 'councils'} from `}</span>
        <Time iso={report.since} /> to <Time iso={report.until} />
        {report.capped ? <span safe>{` (the newest ${report.max_councils} of more)`}</span> : ''}.
      </p>
      <div class="quality-grid">
        <Measure id="position-bias" title="Position bias" councils={position.councils} reading={position.reading}>
          {position.by_position.length > 0 ? (
            <BarChart
              id="position-chart"
              title="How often the response shown in each place won"
              description={`Share of reviews whose top pick was the response shown in each place; chance is about ${percent(position.expected_rate)} for the first place.`}
              bars={position.by_position.map((row) => ({ label: `Shown ${ordinal(row.position)}`, value: row.rate, text: percent(row.rate) }))}
              max={Math.max(0.5, ...position.by_position.map((row) => row.rate))}
              reference={position.expected_rate === null ? undefined : { value: position.expected_rate, label: `chance ${percent(position.expected_rate)}` }}
              table={{
                head: ['Shown', 'Reviews', 'Won', 'Rate', 'By chance'],
                rows: position.by_position.map((row) => [ordinal(row.position), row.shown, row.wins, percent(row.rate), percent(row.expected_rate)]),
              }}
            />
          ) : (
            ''
          )}
          {position.chi_square ? (
            <p class="muted small" safe>
              {`Chi-square over every shown place: χ² = ${position.chi_square.statistic}, df = ${position.chi_square.df}, p = ${position.chi_square.p_value}.`}
            </p>
          ) : (
            ''
          )}
        </Measure>
        <Measure id="length-bias" title="Length bias" councils={length.councils} reading={length.reading}>
          {length.councils > 0 ? (
            <BarChart
              id="length-chart"
              title="Councils by Spearman ρ of draft length against rank position"
              description="Negative ρ: longer drafts were ranked better in that council; positive: shorter ones were."
              bars={length.distribution.map((bucket) => ({ label: `ρ ${range(bucket.from, bucket.to)}`, value: bucket.councils, text: String(bucket.councils) }))}
              max={Math.max(1, ...length.distribution.map((bucket) => bucket.councils))}
              table={{ head: ['Spearman ρ', 'Councils'], rows: length.distribution.map((bucket) => [range(bucket.from, bucket.to), bucket.councils]) }}
            />
          ) : (
            ''
          )}
        </Measure>
        <Measure id="self-preference" title="Self-preference" councils={self.councils} reading={self.reading}>
          {self.reviews > 0 ? (
            <BarChart
              id="self-chart"
              title="Reviews placing their own draft better or worse than the others did"
              description={`Mean difference ${number(self.mean_difference)} places (negative: own draft placed better).`}
              bars={[
                { label: 'Own better', value: self.own_ranked_better, text: String(self.own_ranked_better) },
                { label: 'Own worse', value: self.own_ranked_worse, text: String(self.own_ranked_worse) },
                { label: 'Same place', value: self.reviews - self.own_ranked_better - self.own_ranked_worse, text: String(self.reviews - self.own_ranked_better - self.own_ranked_worse) },
              ]}
              max={Math.max(1, self.reviews)}
              table={{
                head: ['Own draft placed', 'Reviews'],
                rows: [
                  ['better', self.own_ranked_better],
                  ['worse', self.own_ranked_worse],
                  ['the same', self.reviews - self.own_ranked_better - self.own_ranked_worse],
                ],
              }}
            />
          ) : (
            ''
          )}
        </Measure>
        <Measure id="review-parsing" title="Unparsed and partial reviews" councils={parsing.councils} reading={parsing.reading}>
          {parsing.reviews > 0 ? (
            <BarChart
              id="parsing-chart"
              title="Reviews by how well their ranking could be read"
              description={`${parsing.parsed} parsed, ${parsing.partial} partial, ${parsing.unparsed} unparsed.`}
              bars={[
                { label: 'Parsed', value: parsing.parsed, text: String(parsing.parsed) },
                { label: 'Partial', value: parsing.partial, text: String(parsing.partial) },
                { label: 'Unparsed', value: parsing.unparsed, text: String(parsing.unparsed) },
              ]}
              max={Math.max(1, parsing.reviews)}
              table={{
                head: ['Ranking', 'Reviews', 'Share'],
                rows: [
                  ['parsed', parsing.parsed, percent(parsing.parsed / parsing.reviews)],
                  ['partial', parsing.partial, percent(parsing.partial_rate)],
                  ['unparsed', parsing.unparsed, percent(parsing.unparsed_rate)],
                ],
              }}
            />
          ) : (
            ''
          )}
        </Measure>
        <Measure id="agreement" title="Reviewer agreement (Kendall’s W)" councils={agreement.councils} reading={agreement.reading}>
          {agreement.councils > 0 ? (
            <BarChart
              id="agreement-chart"
              title="Councils by Kendall’s W"
              description={`Mean W ${number(agreement.mean_w)}; 0 means no agreement, 1 identical rankings.`}
              bars={agreement.distribution.map((bucket) => ({ label: `W ${range(bucket.from, bucket.to)}`, value: bucket.councils, text: String(bucket.councils) }))}
              max={Math.max(1, ...agreement.distribution.map((bucket) => bucket.councils))}
              table={{ head: ["Kendall's W", 'Councils'], rows: agreement.distribution.map((bucket) => [range(bucket.from, bucket.to), bucket.councils]) }}
            />
          ) : (
            ''
          )}
        </Measure>
      </div>
    </div>
  )
}

export function QualityPage({ actor, report }: { actor: Actor; report: QualityView }) {
  return (
    <Layout title="Council quality" actor={actor} path="/admin">
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Council quality</h1>
      <p class="muted small">
        How the council’s reviewers judge, across runs: whether the order of the responses, their length or authorship sways the rankings,
        how often a review cannot be read, and how much reviewers agree. The same figures as JSON:{' '}
        <a href={`/api/admin/quality?window=${report.window}`}>
          <code>GET /api/admin/quality</code>
        </a>
        .
      </p>
      <QualityPanel report={report} />
    </Layout>
  )
}
