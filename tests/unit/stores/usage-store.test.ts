/** The usage store's contract, on libsql and on PostgreSQL: deltas add up (never overwrite), sums by dimension and by bucket, active users, hour purge. */
import { expect, test } from 'bun:test'
import { HISTOGRAM_BUCKETS } from '../../../src/modules/usage/histogram'
import { emptyCounters, type RollupDelta } from '../../../src/modules/usage/store'
import { eachDialect } from '../../helpers/databases'

const delta = (fields: Partial<RollupDelta> & Pick<RollupDelta, 'bucket'>): RollupDelta => ({
  grain: 'day',
  kind: 'llm',
  dim: 'model',
  key: 'm1',
  ...emptyCounters(HISTOGRAM_BUCKETS),
  ...fields,
})

const hist = (entries: Record<number, number>) => Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => entries[i] ?? 0)

eachDialect('usage store', (use) => {
  test('deltas add to their rows, across calls and across concurrent writers', async () => {
    const { stores } = use()
    const one = delta({ bucket: '2026-01-01', count: 2, errors: 1, tokensIn: 100, tokensOut: 50, costMicroUsd: 7, durationMs: 30, hist: hist({ 3: 1, 5: 1 }) })
    await stores.usage.add([one], [])
    await Promise.all([
      stores.usage.add([{ ...one, count: 1, errors: 0, hist: hist({ 5: 1 }) }], []),
      stores.usage.add([{ ...one, count: 3, errors: 2, hist: hist({ 23: 3 }) }], []),
    ])
    const [sum] = await stores.usage.totals({ grain: 'day', from: '2026-01-01', to: '2026-01-01' })
    expect(sum).toMatchObject({ kind: 'llm', dim: 'model', key: 'm1', count: 6, errors: 3, tokensIn: 300, tokensOut: 150, costMicroUsd: 21, durationMs: 90 })
    expect(sum!.hist).toEqual(hist({ 3: 1, 5: 2, 23: 3 }))
  })

  test('totals sum a window by kind, dim and key; series sum per bucket; other grains and days stay out', async () => {
    const { stores } = use()
    await stores.usage.add(
      [
        delta({ bucket: '2026-02-01', key: 'a', count: 1, tokensIn: 10 }),
        delta({ bucket: '2026-02-02', key: 'a', count: 2, tokensIn: 20 }),
        delta({ bucket: '2026-02-02', key: 'b', count: 4, tokensIn: 40 }),
        delta({ bucket: '2026-02-03', key: 'a', count: 8, tokensIn: 80 }),
        delta({ bucket: '2026-02-02', dim: 'stage', key: 'draft', count: 16 }),
        delta({ grain: 'hour', bucket: '2026-02-02T10', key: 'a', count: 32 }),
      ],
      [],
    )
    const totals = await stores.usage.totals({ grain: 'day', from: '2026-02-01', to: '2026-02-02' })
    const byKey = Object.fromEntries(totals.map((s) => [`${s.dim}:${s.key}`, s.count]))
    expect(byKey).toEqual({ 'model:a': 3, 'model:b': 4, 'stage:draft': 16 })
    const series = await stores.usage.series({ grain: 'day', from: '2026-02-01', to: '2026-02-03', kind: 'llm', dim: 'model' })
    expect(series.map((p) => [p.bucket, p.key, p.count, p.tokensIn])).toEqual([
      ['2026-02-01', 'a', 1, 10],
      ['2026-02-02', 'a', 2, 20],
      ['2026-02-02', 'b', 4, 40],
      ['2026-02-03', 'a', 8, 80],
    ].sort((x, y) => `${x[0]}${x[1]}`.localeCompare(`${y[0]}${y[1]}`)))
    const hours = await stores.usage.series({ grain: 'hour', from: '2026-02-02T00', to: '2026-02-02T23', kind: 'llm', dim: 'model' })
    expect(hours.map((p) => [p.bucket, p.count])).toEqual([['2026-02-02T10', 32]])
  })

  test('active users: per day and distinct over the window; user rows add up', async () => {
    const { stores } = use()
    await stores.usage.add([], [
      { userId: 'u1', day: '2026-03-01', events: 1, tokens: 10, costMicroUsd: 1 },
      { userId: 'u2', day: '2026-03-01', events: 1, tokens: 0, costMicroUsd: 0 },
      { userId: 'u1', day: '2026-03-02', events: 2, tokens: 0, costMicroUsd: 0 },
    ])
    await stores.usage.add([], [{ userId: 'u1', day: '2026-03-01', events: 5, tokens: 5, costMicroUsd: 5 }])
    expect(await stores.usage.activeUsers('2026-03-01', '2026-03-02')).toEqual([
      { day: '2026-03-01', users: 2 },
      { day: '2026-03-02', users: 1 },
    ])
    expect(await stores.usage.activeUsers('2026-03-02', '2026-03-09')).toEqual([{ day: '2026-03-02', users: 1 }])
    expect(await stores.usage.activeUsers('2027-01-01', '2027-01-09')).toEqual([])
    // Active since a day: u1 was last seen 03-02, u2 on 03-01.
    expect(await stores.usage.activeSince('2026-03-01')).toBe(2)
    expect(await stores.usage.activeSince('2026-03-02')).toBe(1)
    expect(await stores.usage.activeSince('2026-03-03')).toBe(0)
    // An earlier day arriving late neither moves the last day back nor counts a day twice.
    await stores.usage.add([], [{ userId: 'u1', day: '2026-02-27', events: 1, tokens: 0, costMicroUsd: 0 }, { userId: 'u2', day: '2026-03-01', events: 1, tokens: 0, costMicroUsd: 0 }])
    expect(await stores.usage.activeSince('2026-03-02')).toBe(1)
    expect(await stores.usage.activeUsers('2026-02-27', '2026-03-01')).toEqual([
      { day: '2026-02-27', users: 1 },
      { day: '2026-03-01', users: 2 },
    ])
  })

  test('purgeHours removes hour rows before the given hour, never day rows', async () => {
    const { stores } = use()
    await stores.usage.add(
      [
        delta({ grain: 'hour', bucket: '2020-04-01T23', key: 'p', count: 1 }),
        delta({ grain: 'hour', bucket: '2020-04-02T00', key: 'p', count: 1 }),
        delta({ grain: 'day', bucket: '2026-04-01', key: 'p', count: 1 }),
      ],
      [],
    )
    expect(await stores.usage.purgeHours('2020-04-02T00')).toBe(1)
    expect((await stores.usage.series({ grain: 'hour', from: '2020-04-01T00', to: '2020-04-02T23', kind: 'llm', dim: 'model' })).map((p) => p.bucket)).toEqual(['2020-04-02T00'])
    expect((await stores.usage.totals({ grain: 'day', from: '2026-04-01', to: '2026-04-01' })).map((s) => s.count)).toEqual([1])
  })
})
