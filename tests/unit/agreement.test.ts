/**
 * Kendall's W over reviewers' rankings (src/council/aggregate.ts): the
 * textbook value for complete rankings, 1 for agreement and 0 for a circle when
 * reviewers skip their own draft, and null when there is nothing to compare.
 */
import { describe, expect, test } from 'bun:test'
import { kendallW } from '../../src/council/aggregate'

const review = (reviewer: string, ranking: string[]) => ({ reviewer, ranking })

describe('kendallW', () => {
  test('complete rankings give the textbook W = 12S / (m²(n³ − n))', () => {
    // Rank sums A 4, B 6, C 8, D 12 → S = 35 → W = 420 / 540.
    const w = kendallW([review('j1', ['A', 'B', 'C', 'D']), review('j2', ['A', 'C', 'B', 'D']), review('j3', ['B', 'A', 'C', 'D'])], ['A', 'B', 'C', 'D'])
    expect(w).toEqual({ w: 0.778, reviewers: 3, items: 4 })
  })

  test('identical complete rankings → 1; two opposite ones → 0', () => {
    expect(kendallW([review('x', ['a', 'b', 'c']), review('y', ['a', 'b', 'c'])], ['a', 'b', 'c'])!.w).toBe(1)
    expect(kendallW([review('x', ['a', 'b', 'c']), review('y', ['c', 'b', 'a'])], ['a', 'b', 'c'])!.w).toBe(0)
  })

  test('reviewers who skip their own draft: a common order → 1, a circle → 0', () => {
    const agents = ['a', 'b', 'c']
    // All follow a > b > c, each without its own draft.
    expect(kendallW([review('a', ['b', 'c']), review('b', ['a', 'c']), review('c', ['a', 'b'])], agents)!.w).toBe(1)
    // a prefers b, b prefers c, c prefers a: no order agrees with all.
    expect(kendallW([review('a', ['b', 'c']), review('b', ['c', 'a']), review('c', ['a', 'b'])], agents)!.w).toBe(0)
  })

  test('partial agreement lies strictly between 0 and 1, and five members are handled the same way', () => {
    const agents = ['a', 'b', 'c', 'd', 'e']
    const order = ['a', 'b', 'c', 'd', 'e']
    const without = (self: string) => order.filter((agent) => agent !== self)
    const agreeing = agents.map((self) => review(self, without(self)))
    expect(kendallW(agreeing, agents)!.w).toBe(1)
    const mixed = [...agreeing.slice(0, 3), review('d', ['e', 'c', 'b', 'a']), review('e', ['d', 'a', 'c', 'b'])]
    const w = kendallW(mixed, agents)!.w
    expect(w).toBeGreaterThan(0)
    expect(w).toBeLessThan(1)
  })

  test('more drafts than are tried exhaustively still give 1 for agreement', () => {
    const agents = Array.from({ length: 10 }, (_, i) => `m${i}`)
    const reviews = agents.map((self) => review(self, agents.filter((agent) => agent !== self)))
    expect(kendallW(reviews, agents)).toEqual({ w: 1, reviewers: 10, items: 10 })
  })

  test('nothing to compare → null: one ranking, rankings of one draft, unknown agents', () => {
    expect(kendallW([review('x', ['a', 'b'])], ['a', 'b'])).toBeNull()
    expect(kendallW([review('x', ['a']), review('y', ['b'])], ['a', 'b'])).toBeNull()
    expect(kendallW([review('x', ['q', 'r']), review('y', ['r', 'q'])], ['a', 'b'])).toBeNull()
    expect(kendallW([], ['a', 'b'])).toBeNull()
  })
})
