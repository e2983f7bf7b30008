/** TypeBox schemas of GET /api/admin/quality (SPEC §4): the window asked for and the report's shape. */
import { t, type Static } from 'elysia'

export const QualityQuery = t.Object({
  window: t.Optional(
    t.String({ maxLength: 8, description: 'How far back: Nd for N days, 1–365 (e.g. 7d, 30d, 90d); default 30d', examples: ['30d'] }),
  ),
})

const Councils = t.Integer({ description: 'How many councils this measure rests on' })
const Reading = t.String({ description: 'What the figures mean, in a sentence or three' })
const Distribution = t.Array(t.Object({ from: t.Number(), to: t.Number(), councils: t.Integer() }), {
  description: 'Councils per interval of the per-council value (the last interval includes its upper end)',
})

export const QualityResponse = t.Object({
  window: t.String({ description: 'The window, e.g. 30d' }),
  since: t.String({ format: 'date-time' }),
  until: t.String({ format: 'date-time' }),
  councils: t.Integer({ description: 'Councils in the window that reached the aggregate stage (at most max_councils, newest first)' }),
  max_councils: t.Integer(),
  capped: t.Boolean({ description: 'True when the window held more councils than max_councils; the newest were read' }),
  position_bias: t.Object({
    councils: Councils,
    reviews: t.Integer({ description: 'Reviews that ranked at least one of two or more shown responses' }),
    first_shown_wins: t.Integer({ description: 'Reviews whose top pick was the response shown first (Response A)' }),
    expected_wins: t.Number({ description: 'What chance would give: the sum of 1/k over the reviews, k responses shown' }),
    rate: t.Nullable(t.Number()),
    expected_rate: t.Nullable(t.Number()),
    p_value: t.Nullable(t.Number({ description: 'One-sided exact (Poisson-)binomial P(wins ≥ observed) if position did not matter' })),
    chi_square: t.Nullable(
      t.Object(
        { statistic: t.Number(), df: t.Integer(), p_value: t.Number() },
        { description: 'Goodness of fit of the winning shown position against uniform, per number of responses shown' },
      ),
    ),
    by_position: t.Array(
      t.Object({ position: t.Integer(), shown: t.Integer(), wins: t.Integer(), rate: t.Number(), expected_rate: t.Number() }),
    ),
    reading: Reading,
  }),
  length_bias: t.Object({
    councils: Councils,
    mean_rho: t.Nullable(t.Number({ description: "Mean Spearman ρ between a draft's length and its mean rank position (1 = best); negative: longer ranks better" })),
    longer_ranked_better: t.Integer({ description: 'Councils with ρ < 0' }),
    shorter_ranked_better: t.Integer({ description: 'Councils with ρ > 0' }),
    p_value: t.Nullable(t.Number({ description: 'Two-sided sign test over the councils with ρ ≠ 0' })),
    distribution: Distribution,
    reading: Reading,
  }),
  self_preference: t.Object({
    councils: Councils,
    reviews: t.Integer({ description: 'Reviews that ranked their own draft, which another review also ranked' }),
    mean_difference: t.Nullable(t.Number({ description: "Own position of own draft minus the others' mean position of it; negative: reviewers favour their own" })),
    own_ranked_better: t.Integer(),
    own_ranked_worse: t.Integer(),
    p_value: t.Nullable(t.Number({ description: 'Two-sided sign test' })),
    reading: Reading,
  }),
  unparsed_reviews: t.Object({
    councils: Councils,
    reviews: t.Integer(),
    parsed: t.Integer(),
    partial: t.Integer(),
    unparsed: t.Integer(),
    unparsed_rate: t.Nullable(t.Number()),
    partial_rate: t.Nullable(t.Number()),
    reading: Reading,
  }),
  agreement: t.Object({
    councils: Councils,
    mean_w: t.Nullable(t.Number({ description: "Mean Kendall's W over councils with two or more rankings (0: none, 1: identical)" })),
    distribution: Distribution,
    reading: Reading,
  }),
})

export type QualityView = Static<typeof QualityResponse>
