/**
 * The council quality report (src/council/quality.ts) on two councils worked
 * by hand (tests/helpers/quality-seed.ts):
 * - position bias: 5 ranked reviews (the unparsed one is not), top pick shown
 *   1st in 3; chance Σ1/k = 3·1/3 + 2·1/2 = 2; P(X ≥ 3) = 8.5/27 = 0.3148;
 *   chi-square over shown places: k=3 group O (2,1,0) E 1 → 2, k=2 group O (1,1) E 1 → 0; df 2 + 1 = 3.
 * - length bias: R1 mean ranks a 2, b 8/3, c 4/3 against 100/200/300 chars →
 *   d = (1, 1, −2), ρ = 1 − 36/24 = −0.5; R2 mean ranks a 1, b 2, c 1 against
 *   50/150/100 → ρ = 1.5/√3 = 0.866; mean 0.183; one council each way.
 * - self-preference (R1 only): a own 1 vs others (2, 3) → −1.5; b 3 vs (3, 2) →
 *   +0.5; c 1 vs (2, 1) → −0.5; mean −0.5.
 * - parsing: 4 parsed, 1 partial, 1 unparsed of 6.
 * - agreement: R1 rank sums 6, 8, 4, S = 8, W = 12·8/(9·24) = 0.444; R2 has
 *   one ranking of two or more drafts only, so no W.
 */
import { describe, expect, test } from 'bun:test'
import { qualityReport, type QualityOutput } from '../../src/council/quality'
import { COUNCIL_R1, COUNCIL_R2, EXPECTED_R1_R2, type SeedOutput } from '../helpers/quality-seed'

const rows = (runId: string, outputs: SeedOutput[]): QualityOutput[] =>
  outputs.map((output) => ({ runId, stage: output.stage, agent: output.agent, chars: output.content.length, data: output.data }))

describe('qualityReport', () => {
  test('two councils worked by hand: every figure', () => {
    const report = qualityReport([...rows('r1', COUNCIL_R1), ...rows('r2', COUNCIL_R2)])
    expect(report).toMatchObject(EXPECTED_R1_R2)
  })

  test('each figure comes with a plain reading', () => {
    const report = qualityReport([...rows('r1', COUNCIL_R1), ...rows('r2', COUNCIL_R2)])
    expect(report.position_bias.reading).toBe(
      'The response shown first won 60 % of 5 reviews; chance alone would give 40 %. That is within chance (binomial p = 0.315): no sign of position bias. Only 2 councils: treat this as a hint.',
    )
    expect(report.self_preference.reading).toBe(
      'Reviewers placed their own draft 0.5 places better than the other reviewers placed it, on average over 3 reviews (2 better, 1 worse; sign test p = 1). Not more often than chance: no sign of self-preference. Only 1 council: treat this as a hint.',
    )
    expect(report.agreement.reading).toStartWith('Reviewers agree moderately: mean Kendall’s W 0.444 over 1 councils')
    expect(report.unparsed_reviews.reading).toStartWith('16.7 % of 6 reviews gave no usable ranking')
    expect(report.length_bias.reading).toStartWith('In 1 of 2 councils the longer drafts ranked better, in 1 the shorter ones did (sign test p = 1)')
  })

  test('a strong first-position effect reads as bias: 12 councils whose reviewers always pick what they saw first', () => {
    const outputs: QualityOutput[] = []
    for (let i = 0; i < 12; i++) {
      const drafts = ['a', 'b', 'c'].map((agent) => ({ runId: `p${i}`, stage: 'draft', agent, chars: 100, data: null }))
      // Each reviewer sees the others' drafts in some order and ranks them as shown.
      const reviews = ['a', 'b', 'c'].map((agent, j) => {
        const shown = ['a', 'b', 'c'].filter((other) => other !== agent)
        const order = j % 2 === 0 ? shown : [...shown].reverse()
        return {
          runId: `p${i}`,
          stage: 'review',
          agent,
          chars: 0,
          data: { label_map: { A: order[0], B: order[1] }, ranking_labels: ['A', 'B'], parse_status: 'parsed' },
        }
      })
      outputs.push(...drafts, ...reviews)
    }
    const report = qualityReport(outputs)
    // 36 reviews, all won by the first shown of two: P = 2^−36.
    expect(report.position_bias).toMatchObject({ councils: 12, reviews: 36, first_shown_wins: 36, rate: 1, expected_rate: 0.5, p_value: 0 })
    expect(report.position_bias.reading).toContain('more often than chance (binomial p < 0.001): reviewers favour what they read first.')
    expect(report.position_bias.reading).not.toContain('hint')
    // Reviewers never saw their own draft: self-preference says why it has nothing.
    expect(report.self_preference).toMatchObject({ councils: 0, reviews: 0, mean_difference: null })
    expect(report.self_preference.reading).toContain('COUNCIL_REVIEW_EXCLUDE_SELF')
  })

  test('an empty window, and reviews stored without a label map, give nulls and say so', () => {
    const report = qualityReport([{ runId: 'old', stage: 'review', agent: 'a', chars: 0, data: { ranking: ['b'] } }])
    expect(report.position_bias).toMatchObject({ councils: 0, reviews: 0, rate: null, p_value: null, chi_square: null, by_position: [] })
    expect(report.position_bias.reading).toStartWith('No review in this window ranked')
    expect(report.length_bias).toMatchObject({ councils: 0, mean_rho: null })
    expect(report.unparsed_reviews).toMatchObject({ reviews: 0, unparsed_rate: null })
    expect(report.agreement).toMatchObject({ councils: 0, mean_w: null })
    expect(qualityReport([]).councils).toBe(0)
  })
})
