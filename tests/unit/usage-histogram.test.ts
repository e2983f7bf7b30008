/** Log-spaced duration buckets: placement, merging by addition and percentiles within a bucket's factor. */
import { expect, test } from 'bun:test'
import { bucketOf, HISTOGRAM_BUCKETS, quantile, upperBound } from '../../src/modules/usage/histogram'
import { redactError } from '../../src/modules/usage/recorder'

test('bucketOf places a duration in the bucket whose bounds hold it', () => {
  expect(bucketOf(0)).toBe(0)
  expect(bucketOf(1)).toBe(0)
  expect(bucketOf(1.5)).toBe(1)
  expect(bucketOf(2)).toBe(1)
  expect(bucketOf(3)).toBe(2)
  expect(bucketOf(1000)).toBe(10)
  expect(bucketOf(1024)).toBe(10)
  expect(bucketOf(1025)).toBe(11)
  expect(bucketOf(1e12)).toBe(HISTOGRAM_BUCKETS - 1)
  expect(upperBound(10)).toBe(1024)
  expect(upperBound(HISTOGRAM_BUCKETS - 1)).toBe(Infinity)
})

test('percentiles from summed buckets stay within the bucket of the true value', () => {
  const durations = Array.from({ length: 10_000 }, (_, i) => 5 + ((i * 7919) % 3000))
  const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
  // Two halves merged by addition, as two rollup rows are.
  const halves = [durations.slice(0, 5000), durations.slice(5000)].map((part) => {
    const c = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
    for (const d of part) c[bucketOf(d)]!++
    return c
  })
  halves.forEach((c) => c.forEach((n, i) => (counts[i]! += n)))
  const sorted = [...durations].sort((a, b) => a - b)
  for (const q of [0.5, 0.95]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1]!
    const estimate = quantile(counts, q)!
    expect(bucketOf(estimate)).toBe(bucketOf(exact))
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.35)
  }
  expect(quantile(new Array(HISTOGRAM_BUCKETS).fill(0), 0.5)).toBeNull()
})

test('redactError removes emails, urls, ids and numbers', () => {
  expect(redactError('Provider 429 for a@b.example at https://x.test/v1 job 0193c5a2-7a1b-7c3d-8e9f-0123456789ab, retry in 20 s')).toBe(
    'Provider <n> for <email> at <url> job <id>, retry in <n> s',
  )
  expect(redactError('x'.repeat(500))).toHaveLength(120)
})
