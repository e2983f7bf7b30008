/**
 * The results of a council, read in one query of stage_outputs: drafts,
 * reviews with their parsed rankings and label maps, the leaderboard, the
 * synthesis with the citations of drafts and synthesis, who dropped out and
 * why, notes on sources the council could not use, how much the reviewers
 * agreed, and tokens and cost per stage.
 */
import { t, type Static } from 'elysia'
import type { PaletteRow, StageOutputRow } from '../../../db/schema'
import { kendallW } from '../../council/aggregate'
import { droppedMembers } from '../../council/engine'
import type { CatalogStore } from '../catalog/store'
import type { StageOutputStore } from '../councils/store'

const CallFigures = t.Object({
  model: t.Nullable(t.String()),
  tokens: t.Object({ input: t.Integer(), output: t.Integer() }),
  cost_usd: t.Number(),
  duration_ms: t.Integer(),
})

export const SessionResults = t.Object({
  session_id: t.String(),
  status: t.String(),
  partial: t.Boolean(),
  dropped: t.Array(t.Object({ agent: t.String(), stage: t.String(), error: t.String() })),
  drafts: t.Array(t.Composite([t.Object({ agent: t.String(), content: t.String() }), CallFigures])),
  reviews: t.Array(
    t.Composite([
      t.Object({
        reviewer: t.String(),
        critique: t.String(),
        label_map: t.Record(t.String(), t.String()),
        ranking: t.Array(t.String()),
        ranking_labels: t.Array(t.String()),
        parse_status: t.UnionEnum(['parsed', 'partial', 'unparsed']),
        problems: t.Array(t.String()),
      }),
      CallFigures,
    ]),
  ),
  leaderboard: t.Array(
    t.Object({ position: t.Integer(), agent: t.String(), mean_rank: t.Nullable(t.Number()), borda: t.Integer(), votes: t.Integer() }),
  ),
  agreement: t.Nullable(
    t.Object(
      { w: t.Number({ minimum: 0, maximum: 1 }), reviewers: t.Integer(), items: t.Integer() },
      { description: "Kendall's W over the reviewers' rankings: 1 = all ranked alike, 0 = no agreement; null with fewer than two rankings" },
    ),
  ),
  synthesis: t.Nullable(t.Composite([t.Object({ agent: t.String(), content: t.String() }), CallFigures])),
  citations: t.Array(
    t.Object({
      label: t.String({ description: '[doc:N p.P] or [web:N], as the answer cites it' }),
      kind: t.UnionEnum(['doc', 'web']),
      document_id: t.Nullable(t.String()),
      filename: t.Nullable(t.String()),
      page: t.Nullable(t.Integer()),
      url: t.Nullable(t.String()),
      title: t.Nullable(t.String()),
      snippet: t.Nullable(t.String({ description: 'The source text that backs the claim' })),
      cited_by: t.String({ description: 'The agent whose draft or synthesis cites it' }),
      stage: t.UnionEnum(['draft', 'synthesis']),
      verified: t.Boolean({ description: 'The cited snippet occurs on that page and the citing sentence matches it' }),
      reason: t.Nullable(t.String({ description: 'Why it is not verified' })),
    }),
  ),
  source_notes: t.Array(t.String(), { description: 'Sources the council could not use: unreadable documents, a failed web search' }),
  stages: t.Record(t.String(), t.Object({ calls: t.Integer(), tokens: t.Integer(), cost_usd: t.Number() })),
  totals: t.Object({ tokens: t.Object({ input: t.Integer(), output: t.Integer(), total: t.Integer() }), cost_usd: t.Number() }),
})

export type SessionResultsView = Static<typeof SessionResults>

const figures = (row: StageOutputRow) => ({
  model: row.model,
  tokens: { input: row.tokensIn, output: row.tokensOut },
  cost_usd: row.costMicroUsd / 1_000_000,
  duration_ms: row.durationMs,
})

type Citation = SessionResultsView['citations'][number]

/** The citations a draft or the synthesis made, as its stored output keeps them (checked when it was written). */
export function citationsOf(row: StageOutputRow): Citation[] {
  return ((row.data?.citations as Array<Omit<Citation, 'cited_by' | 'stage'>> | undefined) ?? []).map((citation) => ({
    label: citation.label,
    kind: citation.kind,
    document_id: citation.document_id,
    filename: citation.filename,
    page: citation.page,
    url: citation.url,
    title: citation.title,
    snippet: citation.snippet,
    cited_by: row.agent,
    stage: row.stage as 'draft' | 'synthesis',
    verified: citation.verified,
    reason: citation.reason,
  }))
}

type ResultStores = { catalog: CatalogStore; stageOutputs: StageOutputStore }
type ResultSession = { id: string; status: string; palette_id: string }

export async function loadResults(stores: ResultStores, session: ResultSession): Promise<SessionResultsView> {
  return (await loadCouncil(stores, session)).results
}

/**
 * The results with what the session page also shows: the palette (its members'
 * cards; undefined when it was deleted) and every stored output, failed ones too.
 */
export async function loadCouncil(
  stores: ResultStores,
  session: ResultSession,
): Promise<{ palette: PaletteRow | undefined; rows: StageOutputRow[]; results: SessionResultsView }> {
  const [palette, rows] = await Promise.all([stores.catalog.palette(session.palette_id), stores.stageOutputs.forRun(session.id)])
  return { palette, rows, results: toResults(session, palette, rows) }
}

function toResults(session: ResultSession, palette: PaletteRow | undefined, rows: StageOutputRow[]): SessionResultsView {
  const ok = (stage: string) => rows.filter((row) => row.stage === stage && row.status === 'ok')
  const synthesisRow = ok('synthesis')[0]
  const dropped = droppedMembers(rows, palette?.chair ?? '')

  const stages: SessionResultsView['stages'] = {}
  let tokensIn = 0
  let tokensOut = 0
  let cost = 0
  for (const row of rows) {
    if (row.stage === 'aggregate' || row.stage === 'sources' || row.stage === 'search') continue
    const stage = (stages[row.stage] ??= { calls: 0, tokens: 0, cost_usd: 0 })
    stage.calls += 1
    stage.tokens += row.tokensIn + row.tokensOut
    stage.cost_usd = Math.round((stage.cost_usd + row.costMicroUsd / 1_000_000) * 1e6) / 1e6
    tokensIn += row.tokensIn
    tokensOut += row.tokensOut
    cost += row.costMicroUsd
  }

  const reviews = ok('review').map((row) => {
    const data = (row.data ?? {}) as Record<string, unknown>
    return {
      reviewer: row.agent,
      critique: row.content ?? '',
      label_map: (data.label_map as Record<string, string>) ?? {},
      ranking: (data.ranking as string[]) ?? [],
      ranking_labels: (data.ranking_labels as string[]) ?? [],
      parse_status: (data.parse_status as 'parsed' | 'partial' | 'unparsed') ?? 'unparsed',
      problems: (data.problems as string[]) ?? [],
      ...figures(row),
    }
  })
  const drafts = ok('draft').map((row) => ({ agent: row.agent, content: row.content ?? '', ...figures(row) }))
  return {
    session_id: session.id,
    status: session.status,
    partial: dropped.length > 0,
    dropped,
    drafts,
    reviews,
    leaderboard: ((ok('aggregate')[0]?.data?.leaderboard as SessionResultsView['leaderboard']) ?? []),
    agreement: kendallW(
      reviews.filter((review) => review.parse_status !== 'unparsed').map((review) => ({ reviewer: review.reviewer, ranking: review.ranking })),
      drafts.map((draft) => draft.agent),
    ),
    citations: [...ok('draft'), ...(synthesisRow ? [synthesisRow] : [])].flatMap(citationsOf),
    source_notes: (ok('sources')[0]?.data?.notes as string[] | undefined) ?? [],
    synthesis: synthesisRow ? { agent: synthesisRow.agent, content: synthesisRow.content ?? '', ...figures(synthesisRow) } : null,
    stages,
    totals: { tokens: { input: tokensIn, output: tokensOut, total: tokensIn + tokensOut }, cost_usd: cost / 1_000_000 },
  }
}
