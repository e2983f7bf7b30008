/**
 * aggregateRankings and seededShuffle: mean rank and Borda on a hand-worked
 * example, every tie-break in turn (Borda, votes, name), agents nobody ranked,
 * and a shuffle that is a deterministic permutation per seed.
 */
import { describe, expect, test } from 'bun:test'
import { aggregateRankings, seededShuffle } from '../../src/council/aggregate'

describe('aggregateRankings', () => {
  test('mean rank and Borda on a hand-worked example', () => {
    // r1 ranks 3 drafts: b 1st (2 pts), a 2nd (1), c 3rd (0)
    // r2 ranks 2 drafts: a 1st (1 pt), b 2nd (0)
    // r3 ranks 3 drafts: b 1st (2), c 2nd (1), a 3rd (0)
    // a: positions 2,1,3 → mean 2, Borda 1+1+0 = 2, votes 3
    // b: positions 1,2,1 → mean 4/3 ≈ 1.333, Borda 2+0+2 = 4, votes 3
    // c: positions 3,2   → mean 2.5, Borda 0+1 = 1, votes 2
    // d: never ranked    → mean null, Borda 0, votes 0
    const board = aggregateRankings(
      [
        { reviewer: 'r1', ranking: ['b', 'a', 'c'] },
        { reviewer: 'r2', ranking: ['a', 'b'] },
        { reviewer: 'r3', ranking: ['b', 'c', 'a'] },
      ],
      ['a', 'b', 'c', 'd'],
    )
    expect(board).toEqual([
      { position: 1, agent: 'b', mean_rank: 1.333, borda: 4, votes: 3 },
      { position: 2, agent: 'a', mean_rank: 2, borda: 2, votes: 3 },
      { position: 3, agent: 'c', mean_rank: 2.5, borda: 1, votes: 2 },
      { position: 4, agent: 'd', mean_rank: null, borda: 0, votes: 0 },
    ])
  })

  test('a tie on mean rank is broken by the higher Borda count (not by name)', () => {
    // zulu: 1st of 3 → mean 1, Borda 2; alpha: 1st of 2 → mean 1, Borda 1.
    const board = aggregateRankings(
      [
        { reviewer: 'p', ranking: ['zulu', 'm1', 'm2'] },
        { reviewer: 'q', ranking: ['alpha', 'm3'] },
      ],
      ['alpha', 'm1', 'm2', 'm3', 'zulu'],
    )
    expect(board.map((entry) => entry.agent)).toEqual(['zulu', 'alpha', 'm1', 'm3', 'm2'])
    expect(board[0]).toMatchObject({ mean_rank: 1, borda: 2 })
    expect(board[1]).toMatchObject({ mean_rank: 1, borda: 1 })
    // m1 and m3 both have mean 2; m1's 2nd of 3 earns a point, m3's 2nd of 2 does not.
    expect(board[2]).toMatchObject({ agent: 'm1', mean_rank: 2, borda: 1 })
    expect(board[3]).toMatchObject({ agent: 'm3', mean_rank: 2, borda: 0 })
  })

  test('a tie on mean rank and Borda is broken by more votes (not by name)', () => {
    // zulu: 1st of 2, twice → mean 1, Borda 2, votes 2; alpha: 1st of 3 once → mean 1, Borda 2, votes 1.
    const board = aggregateRankings(
      [
        { reviewer: 'p', ranking: ['zulu', 'o1'] },
        { reviewer: 'q', ranking: ['zulu', 'o2'] },
        { reviewer: 'r', ranking: ['alpha', 'o1', 'o2'] },
      ],
      ['alpha', 'o1', 'o2', 'zulu'],
    )
    expect(board.slice(0, 2)).toEqual([
      { position: 1, agent: 'zulu', mean_rank: 1, borda: 2, votes: 2 },
      { position: 2, agent: 'alpha', mean_rank: 1, borda: 2, votes: 1 },
    ])
  })

  test('a full tie (mean, Borda, votes) is broken by agent name, whatever the input order', () => {
    const reviews = [
      { reviewer: 'p', ranking: ['bravo', 'alpha'] },
      { reviewer: 'q', ranking: ['alpha', 'bravo'] },
    ]
    const forward = aggregateRankings(reviews, ['alpha', 'bravo'])
    const backward = aggregateRankings([...reviews].reverse(), ['bravo', 'alpha'])
    expect(forward.map((entry) => entry.agent)).toEqual(['alpha', 'bravo'])
    expect(backward).toEqual(forward)
    expect(forward[0]).toEqual({ position: 1, agent: 'alpha', mean_rank: 1.5, borda: 1, votes: 2 })
  })

  test('agents never ranked get mean_rank null and sort after every ranked agent, by name among themselves', () => {
    const board = aggregateRankings([{ reviewer: 'p', ranking: ['mid', 'low'] }], ['zed', 'low', 'abe', 'mid'])
    expect(board.map((entry) => entry.agent)).toEqual(['mid', 'low', 'abe', 'zed'])
    expect(board.map((entry) => entry.position)).toEqual([1, 2, 3, 4])
    expect(board[2]).toEqual({ position: 3, agent: 'abe', mean_rank: null, borda: 0, votes: 0 })
    expect(board[3]!.mean_rank).toBeNull()
  })

  test('rankings naming agents outside the council are ignored', () => {
    const board = aggregateRankings([{ reviewer: 'p', ranking: ['ghost', 'a', 'b'] }], ['a', 'b'])
    expect(board.map((entry) => entry.agent)).toEqual(['a', 'b'])
    expect(board.find((entry) => entry.agent === 'ghost')).toBeUndefined()
    // Positions are those in the reviewer's list (ghost took 1st), Borda from its length.
    expect(board[0]).toMatchObject({ agent: 'a', mean_rank: 2, borda: 1 })
  })

  test('no reviews at all: everyone unranked, ordered by name', () => {
    const board = aggregateRankings([], ['c', 'a', 'b'])
    expect(board.map((entry) => [entry.position, entry.agent, entry.mean_rank])).toEqual([
      [1, 'a', null],
      [2, 'b', null],
      [3, 'c', null],
    ])
  })
})

describe('seededShuffle', () => {
  const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']

  test('is deterministic for a seed', () => {
    expect(seededShuffle(items, 'session-1:analyst')).toEqual(seededShuffle(items, 'session-1:analyst'))
  })

  test('differs across seeds', () => {
    const seeds = ['s1', 's2', 's3', 's4', 's5']
    const orders = new Set(seeds.map((seed) => seededShuffle(items, seed).join('')))
    expect(orders.size).toBeGreaterThan(1)
  })

  test('returns a permutation and leaves its input untouched', () => {
    const input = [...items]
    for (const seed of ['x', 'y', 'z', '', 'a much longer seed with spaces']) {
      const shuffled = seededShuffle(input, seed)
      expect(shuffled).toHaveLength(items.length)
      expect([...shuffled].sort()).toEqual(items)
    }
    expect(input).toEqual(items)
    expect(seededShuffle([], 'seed')).toEqual([])
    expect(seededShuffle(['only'], 'seed')).toEqual(['only'])
  })

  test('does not leave most items in place (it actually shuffles)', () => {
    const shuffled = seededShuffle(items, 'session-2:skeptic')
    expect(shuffled).not.toEqual(items)
  })
})
