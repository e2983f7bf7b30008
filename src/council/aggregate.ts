/**
 * Combines reviewers' rankings into a leaderboard. Each draft's mean rank
 * position (1 = best) over the reviews that ranked it, and its Borda count
 * (a ranking of n drafts gives n−1 points to the first, 0 to the last).
 * Order: lower mean rank, then higher Borda, then more votes, then agent name —
 * so the same reviews always give the same leaderboard.
 */
export interface ReviewRanking {
  reviewer: string
  /** Agents in ranked order, best first (labels already mapped back to agents). */
  ranking: string[]
}

export interface LeaderboardEntry {
  position: number
  agent: string
  mean_rank: number | null
  borda: number
  votes: number
}

/**
 * @example
 * aggregateRankings([{ reviewer: 'a', ranking: ['b', 'c'] }], ['a', 'b', 'c'])
 */
export function aggregateRankings(reviews: readonly ReviewRanking[], agents: readonly string[]): LeaderboardEntry[] {
  const totals = new Map(agents.map((agent) => [agent, { sum: 0, votes: 0, borda: 0 }]))
  for (const review of reviews) {
    const n = review.ranking.length
    review.ranking.forEach((agent, index) => {
      const entry = totals.get(agent)
      if (!entry) return
      entry.sum += index + 1
      entry.votes += 1
      entry.borda += n - 1 - index
    })
  }
  return agents
    .map((agent) => {
      const { sum, votes, borda } = totals.get(agent)!
      return { agent, mean_rank: votes > 0 ? Math.round((sum / votes) * 1000) / 1000 : null, borda, votes }
    })
    .sort(
      (a, b) =>
        (a.mean_rank ?? Number.POSITIVE_INFINITY) - (b.mean_rank ?? Number.POSITIVE_INFINITY) ||
        b.borda - a.borda ||
        b.votes - a.votes ||
        a.agent.localeCompare(b.agent),
    )
    .map((entry, index) => ({ position: index + 1, ...entry }))
}

/** A deterministic shuffle (seeded), so a resumed review stage sees the same labels. */
export function seededShuffle<T>(items: readonly T[], seed: string): T[] {
  let state = 0
  for (let i = 0; i < seed.length; i++) state = (Math.imul(state, 31) + seed.charCodeAt(i)) >>> 0
  const next = () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x9e3779b9) >>> 0
    state = (state ^ (state >>> 13)) >>> 0
    return state / 2 ** 32
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** How much the reviewers agree: Kendall's W, from 0 (no agreement) to 1 (all rank alike), over `reviewers` rankings of `items` drafts. */
export interface Agreement {
  w: number
  reviewers: number
  items: number
}

/** Orders beyond this many drafts are searched locally instead of all tried (8! = 40,320 orders is still instant). */
const EXHAUSTIVE_UP_TO = 8

/**
 * Kendall's coefficient of concordance over the reviews' rankings. A review
 * gives each draft it ranked a centred score ((k+1)/2 − position, for k drafts
 * ranked) and 0 to drafts it did not see; W is the sum over drafts of the
 * squared total scores, divided by the largest value that total could take if
 * every review followed one common order. With complete rankings this is the
 * textbook W = 12S / (m²(n³ − n)); it also stays meaningful when reviewers skip
 * their own draft (each ranks n − 1): three reviews that agree give 1, three
 * that go round in a circle give 0. Null with fewer than two rankings or drafts.
 * @example
 * kendallW([{ reviewer: 'x', ranking: ['a', 'b'] }, { reviewer: 'y', ranking: ['a', 'b'] }], ['a', 'b']) // { w: 1, reviewers: 2, items: 2 }
 */
export function kendallW(reviews: readonly ReviewRanking[], agents: readonly string[]): Agreement | null {
  const known = new Set(agents)
  const rankings = reviews.map((review) => [...new Set(review.ranking.filter((agent) => known.has(agent)))]).filter((ranking) => ranking.length >= 2)
  const items = agents.filter((agent) => rankings.some((ranking) => ranking.includes(agent)))
  if (rankings.length < 2 || items.length < 2) return null
  const index = new Map(items.map((agent, i) => [agent, i]))
  const spread = (order: (ranking: string[]) => string[]) => {
    const totals = new Array<number>(items.length).fill(0)
    for (const ranking of rankings) order(ranking).forEach((agent, position) => (totals[index.get(agent)!]! += (ranking.length + 1) / 2 - (position + 1)))
    return totals.reduce((sum, total) => sum + total * total, 0)
  }
  const observed = spread((ranking) => ranking)
  // The most a common order could give: each review ranks what it saw in that order.
  const consensus = (order: readonly number[]) => spread((ranking) => [...ranking].sort((a, b) => order[index.get(a)!]! - order[index.get(b)!]!))
  let best = 0
  if (items.length <= EXHAUSTIVE_UP_TO) {
    for (const order of permutations(items.length)) best = Math.max(best, consensus(order))
  } else {
    let order = items.map((_, i) => i)
    best = consensus(order)
    for (let improved = true; improved; ) {
      improved = false
      for (let i = 0; i + 1 < order.length; i++) {
        const swapped = [...order]
        ;[swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!]
        const value = consensus(swapped)
        if (value > best + 1e-9) [best, order, improved] = [value, swapped, true]
      }
    }
  }
  if (best <= 0) return null
  return { w: Math.round(Math.min(1, observed / best) * 1000) / 1000, reviewers: rankings.length, items: items.length }
}

/** Every order of 0…n−1, as position-of-item arrays (Heap's algorithm). */
function* permutations(n: number): Generator<number[]> {
  const order = Array.from({ length: n }, (_, i) => i)
  const counters = new Array<number>(n).fill(0)
  yield [...order]
  for (let i = 1; i < n; ) {
    if (counters[i]! < i) {
      const j = i % 2 === 0 ? 0 : counters[i]!
      ;[order[j], order[i]] = [order[i]!, order[j]!]
      yield [...order]
      counters[i]!++
      i = 1
    } else counters[i++] = 0
  }
}
