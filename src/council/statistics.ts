/**
 * Small, exact statistics for the council quality panel (src/council/quality.ts):
 * rank correlation (Spearman, with average ranks for ties), binomial and
 * Poisson-binomial tail probabilities, and the chi-square survival function.
 * Pure functions; the hand-computed cases are in tests/unit/statistics.test.ts.
 */

/** 1-based ranks of the values, ties sharing the average of the ranks they span ([10, 20, 20] → [1, 2.5, 2.5]). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value)
  const ranks = new Array<number>(values.length)
  for (let start = 0; start < order.length; ) {
    let end = start
    while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end++
    const rank = (start + end) / 2 + 1
    for (let i = start; i <= end; i++) ranks[order[i]!.index] = rank
    start = end + 1
  }
  return ranks
}

/**
 * Spearman's rank correlation: Pearson's correlation of the average ranks, so
 * ties are handled exactly (without ties it equals 1 − 6Σd²/(n(n²−1))). Null
 * when there are fewer than two pairs or either side is constant.
 * @example
 * spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) // 0.8
 */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  if (x.length !== y.length) throw new Error('spearman needs pairs: x and y differ in length')
  const n = x.length
  if (n < 2) return null
  const rx = averageRanks(x)
  const ry = averageRanks(y)
  const mean = (n + 1) / 2
  let cov = 0
  let vx = 0
  let vy = 0
  for (let i = 0; i < n; i++) {
    const dx = rx[i]! - mean
    const dy = ry[i]! - mean
    cov += dx * dy
    vx += dx * dx
    vy += dy * dy
  }
  if (vx === 0 || vy === 0) return null
  return cov / Math.sqrt(vx * vy)
}

/** Exact computation up to this many trials (O(n²) steps); beyond, the normal approximation. */
const EXACT_TRIALS = 5000

/**
 * P(X ≥ k) where X counts successes of independent trials with success
 * probabilities `p` (a Poisson binomial; all equal gives the binomial). Exact
 * up to 5,000 trials, then the normal approximation with continuity correction.
 * @example
 * tailAtLeast(new Array(10).fill(0.5), 8) // 56/1024 = 0.0546875
 */
export function tailAtLeast(p: readonly number[], k: number): number {
  if (k <= 0) return 1
  if (k > p.length) return 0
  if (p.length > EXACT_TRIALS) {
    const mean = p.reduce((sum, q) => sum + q, 0)
    const variance = p.reduce((sum, q) => sum + q * (1 - q), 0)
    if (variance === 0) return mean >= k ? 1 : 0
    return 1 - normalCdf((k - 0.5 - mean) / Math.sqrt(variance))
  }
  // dist[j] = P(j successes so far), updated trial by trial.
  let dist = new Float64Array(p.length + 1)
  dist[0] = 1
  for (let i = 0; i < p.length; i++) {
    const q = p[i]!
    const next = new Float64Array(p.length + 1)
    for (let j = 0; j <= i; j++) {
      next[j]! += dist[j]! * (1 - q)
      next[j + 1]! += dist[j]! * q
    }
    dist = next
  }
  let tail = 0
  for (let j = k; j <= p.length; j++) tail += dist[j]!
  return Math.min(1, tail)
}

/**
 * The two-sided sign test: of `n` non-tied pairs, `k` went one way; the chance
 * of a split at least that uneven if both ways were equally likely.
 * @example
 * signTest(10, 9) // 2 × 11/1024 ≈ 0.0215
 */
export function signTest(n: number, k: number): number | null {
  if (n === 0) return null
  const half = new Array<number>(n).fill(0.5)
  const extreme = Math.max(k, n - k)
  return Math.min(1, 2 * tailAtLeast(half, extreme))
}

/** The standard normal CDF (Abramowitz–Stegun 7.1.26 through erf; error < 1.5e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2
}

/** ln Γ(z) for z > 0 (Lanczos, g = 7, n = 9). */
function lnGamma(z: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z)
  const x = z - 1
  let sum = c[0]!
  for (let i = 1; i < 9; i++) sum += c[i]! / (x + i)
  const t = x + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(sum)
}

/** The regularised upper incomplete gamma Q(a, x): a series below a + 1, Lentz's continued fraction above. */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1
  const front = Math.exp(-x + a * Math.log(x) - lnGamma(a))
  if (x < a + 1) {
    let term = 1 / a
    let sum = term
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break
    }
    return Math.max(0, 1 - sum * front)
  }
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const step = d * c
    h *= step
    if (Math.abs(step - 1) < 1e-15) break
  }
  return Math.min(1, front * h)
}

/**
 * P(χ² ≥ x) with `df` degrees of freedom: how surprising a goodness-of-fit statistic is.
 * @example
 * chiSquareSurvival(3.841459, 1) // ≈ 0.05
 */
export function chiSquareSurvival(x: number, df: number): number {
  if (df <= 0) throw new Error('chiSquareSurvival needs at least one degree of freedom')
  return gammaQ(df / 2, x / 2)
}

/** Pearson's goodness-of-fit statistic Σ (O − E)² / E over cells with an expectation. */
export function chiSquareStatistic(cells: ReadonlyArray<{ observed: number; expected: number }>): number {
  return cells.reduce((sum, { observed, expected }) => (expected > 0 ? sum + (observed - expected) ** 2 / expected : sum), 0)
}
