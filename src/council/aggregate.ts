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
