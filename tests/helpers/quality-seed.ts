/**
 * Two councils worked by hand for the quality panel (tests/unit/quality.test.ts,
 * tests/integration/quality.test.ts), as the engine stores them: drafts with
 * their text, reviews with label_map (shown order: A first), ranking_labels,
 * ranking and parse_status.
 *
 * R1 (self-votes allowed, 3 shown per review): drafts a 100, b 200, c 300 chars.
 *   a sees A:a B:b C:c, ranks A C B → a c b (top pick shown 1st)
 *   b sees A:c B:a C:b, ranks A B C → c a b (1st)
 *   c sees A:b B:c C:a, ranks B A C → c b a (2nd)
 * R2 (own draft excluded, 2 shown): drafts a 50, b 150, c 100 chars.
 *   a sees A:b B:c, ranks B A → c b (2nd)
 *   b sees A:a B:c, ranks A only → a (partial; 1st)
 *   c sees A:a B:b, no ranking (unparsed)
 */
export interface SeedOutput {
  stage: 'draft' | 'review'
  agent: string
  content: string
  data: Record<string, unknown> | null
}

const draft = (agent: string, chars: number): SeedOutput => ({ stage: 'draft', agent, content: agent.repeat(chars), data: null })

const review = (agent: string, labelMap: Record<string, string>, labels: string[], status: 'parsed' | 'partial' | 'unparsed'): SeedOutput => ({
  stage: 'review',
  agent,
  content: `FINAL RANKING:\n${labels.map((label, i) => `${i + 1}. Response ${label}`).join('\n')}`,
  data: { label_map: labelMap, ranking_labels: labels, ranking: labels.map((label) => labelMap[label]), parse_status: status, problems: [] },
})

export const COUNCIL_R1: SeedOutput[] = [
  draft('a', 100),
  draft('b', 200),
  draft('c', 300),
  review('a', { A: 'a', B: 'b', C: 'c' }, ['A', 'C', 'B'], 'parsed'),
  review('b', { A: 'c', B: 'a', C: 'b' }, ['A', 'B', 'C'], 'parsed'),
  review('c', { A: 'b', B: 'c', C: 'a' }, ['B', 'A', 'C'], 'parsed'),
]

export const COUNCIL_R2: SeedOutput[] = [
  draft('a', 50),
  draft('b', 150),
  draft('c', 100),
  review('a', { A: 'b', B: 'c' }, ['B', 'A'], 'parsed'),
  review('b', { A: 'a', B: 'c' }, ['A'], 'partial'),
  review('c', { A: 'a', B: 'b' }, [], 'unparsed'),
]

/** What qualityReport gives for R1 and R2 together, worked out by hand (see the unit test for the arithmetic). */
export const EXPECTED_R1_R2 = {
  councils: 2,
  position_bias: {
    councils: 2,
    reviews: 5,
    first_shown_wins: 3,
    expected_wins: 2,
    rate: 0.6,
    expected_rate: 0.4,
    p_value: 0.3148,
    chi_square: { statistic: 2, df: 3, p_value: 0.5724 },
    by_position: [
      { position: 1, shown: 5, wins: 3, rate: 0.6, expected_rate: 0.4 },
      { position: 2, shown: 5, wins: 2, rate: 0.4, expected_rate: 0.4 },
      { position: 3, shown: 3, wins: 0, rate: 0, expected_rate: 0.333 },
    ],
  },
  length_bias: {
    councils: 2,
    mean_rho: 0.183,
    longer_ranked_better: 1,
    shorter_ranked_better: 1,
    p_value: 1,
    distribution: [
      { from: -1, to: -0.5, councils: 0 },
      { from: -0.5, to: 0, councils: 1 },
      { from: 0, to: 0.5, councils: 0 },
      { from: 0.5, to: 1, councils: 1 },
    ],
  },
  self_preference: { councils: 1, reviews: 3, mean_difference: -0.5, own_ranked_better: 2, own_ranked_worse: 1, p_value: 1 },
  unparsed_reviews: { councils: 2, reviews: 6, parsed: 4, partial: 1, unparsed: 1, unparsed_rate: 0.167, partial_rate: 0.167 },
  agreement: {
    councils: 1,
    mean_w: 0.444,
    distribution: [
      { from: 0, to: 0.2, councils: 0 },
      { from: 0.2, to: 0.4, councils: 0 },
      { from: 0.4, to: 0.6, councils: 1 },
      { from: 0.6, to: 0.8, councils: 0 },
      { from: 0.8, to: 1, councils: 0 },
    ],
  },
}
