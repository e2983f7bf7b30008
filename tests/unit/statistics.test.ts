/**
 * The quality panel's statistics (src/council/statistics.ts) on hand-computed
 * cases: Spearman without and with ties, exact binomial and Poisson-binomial
 * tails, the sign test, and chi-square survival at textbook critical values.
 */
import { describe, expect, test } from 'bun:test'
import { averageRanks, chiSquareStatistic, chiSquareSurvival, signTest, spearman, tailAtLeast } from '../../src/council/statistics'

describe('averageRanks', () => {
  test('ties share the mean of the ranks they span', () => {
    expect(averageRanks([30, 10, 20, 20])).toEqual([4, 1, 2.5, 2.5])
    expect(averageRanks([5, 5, 5])).toEqual([2, 2, 2])
  })
})

describe('spearman', () => {
  test('without ties it is 1 − 6Σd²/(n(n²−1))', () => {
    // d = (−1, 1, −1, 1, 0), Σd² = 4 → 1 − 24/120 = 0.8
    expect(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12)
    // Reversed order: −1; same order on another scale: 1.
    expect(spearman([1, 2, 3, 4], [40, 30, 20, 10])).toBeCloseTo(-1, 12)
    expect(spearman([1, 2, 3], [10, 100, 1000])).toBeCloseTo(1, 12)
  })

  test('ties: Pearson on average ranks', () => {
    // y ranks (1, 2.5, 2.5, 4): Σdxdy = 4.5, Σdx² = 5, Σdy² = 4.5 → 4.5/√22.5 = 3/√10
    expect(spearman([1, 2, 3, 4], [10, 20, 20, 30])).toBeCloseTo(3 / Math.sqrt(10), 12)
    // The length-bias council R2 of tests/helpers/quality-seed.ts: mean ranks (1, 2, 1), lengths (50, 150, 100) → 1.5/√3
    expect(spearman([1, 2, 1], [50, 150, 100])).toBeCloseTo(1.5 / Math.sqrt(3), 12)
  })

  test('nothing to correlate: null', () => {
    expect(spearman([1], [2])).toBeNull()
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull()
    expect(() => spearman([1, 2], [1])).toThrow('differ in length')
  })
})

describe('tailAtLeast', () => {
  test('binomial: P(X ≥ 8) for 10 fair coins is 56/1024', () => {
    expect(tailAtLeast(new Array(10).fill(0.5), 8)).toBeCloseTo(56 / 1024, 12)
    expect(tailAtLeast(new Array(10).fill(0.5), 0)).toBe(1)
    expect(tailAtLeast(new Array(10).fill(0.5), 11)).toBe(0)
  })

  test('Poisson binomial: three trials at 1/3 and two at 1/2, P(X ≥ 3) = 8.5/27', () => {
    // Y ~ Bin(3, 1/3), Z ~ Bin(2, 1/2): 12/27·1/4 + 6/27·3/4 + 1/27·1
    expect(tailAtLeast([1 / 3, 1 / 3, 1 / 3, 0.5, 0.5], 3)).toBeCloseTo(8.5 / 27, 12)
    expect(tailAtLeast([0.5, 1 / 3], 1)).toBeCloseTo(2 / 3, 12)
  })

  test('beyond 5,000 trials the normal approximation is close to the exact value', () => {
    // Bin(6000, 1/2): P(X ≥ 3100) ≈ P(Z ≥ (3099.5 − 3000)/√1500) = P(Z ≥ 2.569) ≈ 0.0051
    expect(tailAtLeast(new Array(6000).fill(0.5), 3100)).toBeCloseTo(0.0051, 3)
  })
})

describe('signTest', () => {
  test('two-sided: 9 of 10 one way is 2 × 11/1024; an even split is 1', () => {
    expect(signTest(10, 9)).toBeCloseTo(22 / 1024, 12)
    expect(signTest(10, 1)).toBeCloseTo(22 / 1024, 12)
    expect(signTest(2, 1)).toBe(1)
    expect(signTest(0, 0)).toBeNull()
  })
})

describe('chi-square', () => {
  test('survival at textbook critical values, and the closed forms for df 2 and 3', () => {
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6)
    expect(chiSquareSurvival(9.487729, 4)).toBeCloseTo(0.05, 6)
    expect(chiSquareSurvival(2, 2)).toBeCloseTo(Math.exp(-1), 10)
    // df 3: 2(1 − Φ(√x)) + √(2x/π)·e^(−x/2), at x = 2 ≈ 0.572407
    expect(chiSquareSurvival(2, 3)).toBeCloseTo(0.572407, 5)
    expect(chiSquareSurvival(0, 5)).toBe(1)
    expect(() => chiSquareSurvival(1, 0)).toThrow('degree of freedom')
  })

  test('the statistic is Σ (O − E)² / E', () => {
    expect(chiSquareStatistic([{ observed: 2, expected: 1 }, { observed: 1, expected: 1 }, { observed: 0, expected: 1 }])).toBe(2)
  })
})
