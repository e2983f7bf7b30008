/**
 * Duration histograms of the usage rollups: 24 fixed log-spaced buckets, so two
 * rows (two hours, two days, two processes' batches) merge by adding their
 * counts, and a percentile over any window is read off the summed counts —
 * never by sorting raw durations. Bucket 0 holds durations ≤ 1 ms, bucket i
 * those in (2^(i-1), 2^i] ms, bucket 23 everything above 2^22 ms (≈ 70 min).
 * Within a bucket a percentile is interpolated geometrically, so its error is
 * well under the bucket's factor of two (tests/unit/usage-histogram.test.ts).
 */

export const HISTOGRAM_BUCKETS = 24

/** The rollup columns, in bucket order (db/schema usage_rollups h0…h23). */
export const HISTOGRAM_COLUMNS = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}` as HistogramColumn)

export type HistogramColumn =
  | 'h0' | 'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6' | 'h7' | 'h8' | 'h9' | 'h10' | 'h11'
  | 'h12' | 'h13' | 'h14' | 'h15' | 'h16' | 'h17' | 'h18' | 'h19' | 'h20' | 'h21' | 'h22' | 'h23'

/** The bucket a duration in milliseconds falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > 1)) return 0
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.ceil(Math.log2(ms)))
}

/** Upper bound of bucket i in ms (the last bucket has none: Infinity). */
export const upperBound = (i: number) => (i >= HISTOGRAM_BUCKETS - 1 ? Infinity : 2 ** i)

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, in ms, or null when it is empty.
 * @example
 * quantile(counts, 0.95) // e.g. 1843
 */
export function quantile(counts: ArrayLike<number>, q: number): number | null {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]!
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!
    if (n === 0) continue
    if (seen + n >= rank) {
      if (i === 0) return 1
      const low = 2 ** (i - 1)
      if (i === HISTOGRAM_BUCKETS - 1) return low
      const fraction = Math.min(1, Math.max(0, (rank - seen) / n))
      return Math.round(low * 2 ** fraction * 10) / 10
    }
    seen += n
  }
  return 2 ** (HISTOGRAM_BUCKETS - 2)
}
