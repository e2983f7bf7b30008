/**
 * Council quality across many runs (GET /api/admin/quality, page /admin/quality):
 * how the reviewers judge, read from what the engine stores — each review's
 * label map (label → agent, in the order the drafts were shown) and parsed
 * ranking, each draft's length. Five measures, each with the number of
 * councils behind it and a sentence saying what it means:
 * - position bias: does the response shown first (label A) win more often than
 *   chance (1/k for k responses)? One-sided Poisson-binomial test, and a
 *   chi-square goodness of fit over every shown position.
 * - length bias: per council, Spearman's ρ between each draft's mean rank
 *   position (1 = best) and its length; negative means longer drafts rank better.
 * - self-preference (only when reviewers see their own draft): the position a
 *   reviewer gives its own draft minus the mean position the others give it.
 * - review parsing: parsed, partial and unparsed reviews.
 * - agreement: Kendall's W per council (src/council/aggregate.ts).
 * Pure: the caller reads the rows.
 */
import { aggregateRankings, kendallW } from './aggregate'
import { chiSquareStatistic, chiSquareSurvival, signTest, spearman, tailAtLeast } from './statistics'

type ParseStatus = 'parsed' | 'partial' | 'unparsed'

/** One stored output as the quality panel reads it: drafts and successful reviews of councils. */
export interface QualityOutput {
  runId: string
  stage: string
  agent: string
  /** Characters of the output's text (drafts). */
  chars: number
  /** The review's stored data: label_map, ranking_labels, parse_status. */
  data: Record<string, unknown> | null
}

interface Review {
  reviewer: string
  /** Labels in the order the drafts were shown (A first) → agent. */
  labelMap: Record<string, string>
  rankingLabels: string[]
  parseStatus: ParseStatus
}

interface Council {
  drafts: Array<{ agent: string; chars: number }>
  reviews: Review[]
}

const STATUSES = new Set<string>(['parsed', 'partial', 'unparsed'])

const isStringRecord = (value: unknown): value is Record<string, string> =>
  !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')

/** Groups stored outputs by council; reviews without a readable label map or status (older rows) are left out. */
function councilsOf(outputs: readonly QualityOutput[]): Council[] {
  const byRun = new Map<string, Council>()
  for (const output of outputs) {
    let council = byRun.get(output.runId)
    if (!council) byRun.set(output.runId, (council = { drafts: [], reviews: [] }))
    if (output.stage === 'draft') council.drafts.push({ agent: output.agent, chars: output.chars })
    if (output.stage !== 'review' || !output.data) continue
    const { label_map: labelMap, ranking_labels: rankingLabels, parse_status: parseStatus } = output.data
    if (!isStringRecord(labelMap) || typeof parseStatus !== 'string' || !STATUSES.has(parseStatus)) continue
    const labels = Array.isArray(rankingLabels) ? rankingLabels.filter((label): label is string => typeof label === 'string' && label in labelMap) : []
    council.reviews.push({ reviewer: output.agent, labelMap, rankingLabels: labels, parseStatus: parseStatus as ParseStatus })
  }
  return [...byRun.values()]
}

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places
const pct = (value: number) => `${round(value * 100, 1)} %`
const pText = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${round(p, 3)}`)
/** Fewer councils than this make any reading a hint only. */
const FEW = 10
const few = (councils: number) => (councils < FEW ? ` Only ${councils} ${councils === 1 ? 'council' : 'councils'}: treat this as a hint.` : '')

/** A review counts towards rankings when it ranked at least one response. */
const ranked = (review: Review) => review.parseStatus !== 'unparsed' && review.rankingLabels.length > 0
const rankingOf = (review: Review) => review.rankingLabels.map((label) => review.labelMap[label]!)

interface Bucket {
  from: number
  to: number
  councils: number
}

function buckets(values: readonly number[], edges: readonly number[]): Bucket[] {
  return edges.slice(0, -1).map((from, i) => {
    const to = edges[i + 1]!
    const last = i === edges.length - 2
    return { from, to, councils: values.filter((value) => value >= from && (last ? value <= to : value < to)).length }
  })
}

function positionBias(councils: readonly Council[]) {
  const trials: Array<{ k: number; winner: number }> = []
  let behind = 0
  for (const council of councils) {
    const mine = council.reviews
      .filter((review) => ranked(review) && Object.keys(review.labelMap).length >= 2)
      .map((review) => {
        const shown = Object.keys(review.labelMap).sort()
        return { k: shown.length, winner: shown.indexOf(review.rankingLabels[0]!) + 1 }
      })
    if (mine.length > 0) behind++
    trials.push(...mine)
  }
  const wins = trials.filter((trial) => trial.winner === 1).length
  const probabilities = trials.map((trial) => 1 / trial.k)
  const expected = probabilities.reduce((sum, p) => sum + p, 0)
  const longest = Math.max(0, ...trials.map((trial) => trial.k))
  const byPosition = Array.from({ length: longest }, (_, i) => {
    const eligible = trials.filter((trial) => trial.k > i)
    const won = eligible.filter((trial) => trial.winner === i + 1).length
    return {
      position: i + 1,
      shown: eligible.length,
      wins: won,
      rate: round(won / eligible.length),
      expected_rate: round(eligible.reduce((sum, trial) => sum + 1 / trial.k, 0) / eligible.length),
    }
  })
  // Goodness of fit over every shown position, per number of responses shown.
  const cells: Array<{ observed: number; expected: number }> = []
  let df = 0
  for (const k of new Set(trials.map((trial) => trial.k))) {
    const group = trials.filter((trial) => trial.k === k)
    df += k - 1
    for (let position = 1; position <= k; position++)
      cells.push({ observed: group.filter((trial) => trial.winner === position).length, expected: group.length / k })
  }
  const statistic = chiSquareStatistic(cells)
  const chi = df > 0 ? { statistic: round(statistic), df, p_value: round(chiSquareSurvival(statistic, df), 4) } : null
  const upper = trials.length > 0 ? tailAtLeast(probabilities, wins) : null
  const lower = trials.length > 0 ? 1 - tailAtLeast(probabilities, wins + 1) : null
  const rate = trials.length > 0 ? wins / trials.length : null
  const expectedRate = trials.length > 0 ? expected / trials.length : null
  let reading: string
  if (upper === null || rate === null || expectedRate === null) reading = 'No review in this window ranked the responses, so there is nothing to measure.'
  else {
    const base = `The response shown first won ${pct(rate)} of ${trials.length} reviews; chance alone would give ${pct(expectedRate)}.`
    const verdict =
      upper < 0.05
        ? ` That is more often than chance (binomial ${pText(upper)}): reviewers favour what they read first.`
        : lower! < 0.05
          ? ` That is less often than chance (binomial ${pText(lower!)}): reviewers favour later responses.`
          : ` That is within chance (binomial ${pText(upper)}): no sign of position bias.`
    reading = base + verdict + few(behind)
  }
  return {
    councils: behind,
    reviews: trials.length,
    first_shown_wins: wins,
    expected_wins: round(expected),
    rate: rate === null ? null : round(rate),
    expected_rate: expectedRate === null ? null : round(expectedRate),
    p_value: upper === null ? null : round(upper, 4),
    chi_square: chi,
    by_position: byPosition,
    reading,
  }
}

function lengthBias(councils: readonly Council[]) {
  const rhos: number[] = []
  for (const council of councils) {
    const board = aggregateRankings(
      council.reviews.filter(ranked).map((review) => ({ reviewer: review.reviewer, ranking: rankingOf(review) })),
      council.drafts.map((draft) => draft.agent),
    ).filter((entry) => entry.mean_rank !== null)
    if (board.length < 3) continue
    const chars = new Map(council.drafts.map((draft) => [draft.agent, draft.chars]))
    const rho = spearman(
      board.map((entry) => entry.mean_rank!),
      board.map((entry) => chars.get(entry.agent)!),
    )
    if (rho !== null) rhos.push(rho)
  }
  const longer = rhos.filter((rho) => rho < 0).length
  const shorter = rhos.filter((rho) => rho > 0).length
  const mean = rhos.length > 0 ? rhos.reduce((sum, rho) => sum + rho, 0) / rhos.length : null
  const p = signTest(longer + shorter, longer)
  let reading: string
  if (mean === null) reading = 'No council in this window had three or more ranked drafts of differing lengths, so there is nothing to measure.'
  else {
    const verdict =
      p !== null && p < 0.05
        ? longer > shorter
          ? ' Longer drafts are ranked better more often than chance would give: reviewers may reward length.'
          : ' Shorter drafts are ranked better more often than chance would give: reviewers may reward brevity.'
        : ' Neither direction is more common than chance would give: no sign of length bias.'
    reading =
      `In ${longer} of ${rhos.length} councils the longer drafts ranked better, in ${shorter} the shorter ones did` +
      `${p === null ? '' : ` (sign test ${pText(p)})`}; mean Spearman ρ between length and rank position ${round(mean)} (negative: longer ranks better).` +
      verdict +
      few(rhos.length)
  }
  return {
    councils: rhos.length,
    mean_rho: mean === null ? null : round(mean),
    longer_ranked_better: longer,
    shorter_ranked_better: shorter,
    p_value: p === null ? null : round(p, 4),
    distribution: buckets(rhos, [-1, -0.5, 0, 0.5, 1]),
    reading,
  }
}

function selfPreference(councils: readonly Council[]) {
  const differences: number[] = []
  let behind = 0
  let offered = 0
  for (const council of councils) {
    const reviews = council.reviews.filter(ranked)
    let counted = false
    for (const review of council.reviews) {
      if (!Object.values(review.labelMap).includes(review.reviewer)) continue
      offered++
      if (!ranked(review)) continue
      const own = rankingOf(review).indexOf(review.reviewer) + 1
      if (own === 0) continue
      const others = reviews
        .filter((other) => other !== review)
        .map((other) => rankingOf(other).indexOf(review.reviewer) + 1)
        .filter((position) => position > 0)
      if (others.length === 0) continue
      differences.push(own - others.reduce((sum, position) => sum + position, 0) / others.length)
      counted = true
    }
    if (counted) behind++
  }
  const better = differences.filter((d) => d < 0).length
  const worse = differences.filter((d) => d > 0).length
  const mean = differences.length > 0 ? differences.reduce((sum, d) => sum + d, 0) / differences.length : null
  const p = signTest(better + worse, better)
  let reading: string
  if (offered === 0) reading = 'Reviewers never saw their own draft in this window (COUNCIL_REVIEW_EXCLUDE_SELF), so self-preference cannot arise or be measured.'
  else if (mean === null) reading = 'No reviewer ranked its own draft beside another reviewer who ranked it too, so there is nothing to compare.'
  else {
    const direction = mean < 0 ? 'better' : 'worse'
    const verdict =
      p !== null && p < 0.05
        ? better > worse
          ? ' More often than chance: reviewers prefer their own drafts; consider COUNCIL_REVIEW_EXCLUDE_SELF=true.'
          : ' More often than chance: reviewers are harder on their own drafts.'
        : ' Not more often than chance: no sign of self-preference.'
    reading =
      `Reviewers placed their own draft ${mean === 0 ? 'where the others placed it' : `${round(Math.abs(mean), 2)} places ${direction} than the other reviewers placed it`}, on average over ${differences.length} reviews ` +
      `(${better} better, ${worse} worse${p === null ? '' : `; sign test ${pText(p)}`}).` +
      verdict +
      few(behind)
  }
  return {
    councils: behind,
    reviews: differences.length,
    mean_difference: mean === null ? null : round(mean),
    own_ranked_better: better,
    own_ranked_worse: worse,
    p_value: p === null ? null : round(p, 4),
    reading,
  }
}

function reviewParsing(councils: readonly Council[]) {
  const counts = { parsed: 0, partial: 0, unparsed: 0 }
  let behind = 0
  for (const council of councils) {
    if (council.reviews.length > 0) behind++
    for (const review of council.reviews) counts[review.parseStatus]++
  }
  const reviews = counts.parsed + counts.partial + counts.unparsed
  const unparsedRate = reviews > 0 ? counts.unparsed / reviews : null
  const partialRate = reviews > 0 ? counts.partial / reviews : null
  const reading =
    reviews === 0
      ? 'No review in this window.'
      : `${pct(unparsedRate!)} of ${reviews} reviews gave no usable ranking (left out of the leaderboard) and ${pct(partialRate!)} ranked only some responses (counted for those).` +
        (unparsedRate! + partialRate! > 0.1 ? ' Over one in ten: check the models’ answers against the ranking prompt.' : ' The ranking format is followed well.') +
        few(behind)
  return {
    councils: behind,
    reviews,
    parsed: counts.parsed,
    partial: counts.partial,
    unparsed: counts.unparsed,
    unparsed_rate: unparsedRate === null ? null : round(unparsedRate),
    partial_rate: partialRate === null ? null : round(partialRate),
    reading,
  }
}

function agreement(councils: readonly Council[]) {
  const ws: number[] = []
  for (const council of councils) {
    const w = kendallW(
      council.reviews.filter(ranked).map((review) => ({ reviewer: review.reviewer, ranking: rankingOf(review) })),
      council.drafts.map((draft) => draft.agent),
    )
    if (w) ws.push(w.w)
  }
  const mean = ws.length > 0 ? ws.reduce((sum, w) => sum + w, 0) / ws.length : null
  // The session page's scale (src/modules/sessions/results-views.tsx), so one W reads the same everywhere.
  const strength = mean === null ? '' : mean >= 0.7 ? 'strongly' : mean >= 0.4 ? 'moderately' : mean >= 0.15 ? 'weakly' : 'hardly at all'
  const reading =
    mean === null
      ? 'No council in this window had two or more rankings to compare.'
      : `Reviewers agree ${strength}: mean Kendall’s W ${round(mean)} over ${ws.length} councils (0: no agreement, 1: identical rankings).` +
        (mean < 0.4 ? ' The leaderboard then rests on little common judgement.' : '') +
        few(ws.length)
  return { councils: ws.length, mean_w: mean === null ? null : round(mean), distribution: buckets(ws, [0, 0.2, 0.4, 0.6, 0.8, 1]), reading }
}

/**
 * @example
 * const report = qualityReport(await stores.stageOutputs.qualitySample(since, until, 2000))
 * report.position_bias.reading // "The response shown first won 41.2 % of 300 reviews; chance alone would give 33.3 %. …"
 */
export function qualityReport(outputs: readonly QualityOutput[]) {
  const councils = councilsOf(outputs)
  return {
    councils: councils.length,
    position_bias: positionBias(councils),
    length_bias: lengthBias(councils),
    self_preference: selfPreference(councils),
    unparsed_reviews: reviewParsing(councils),
    agreement: agreement(councils),
  }
}
