/** The group-commit helper (db/coalesce.ts) that the server's reads and the worker's writes share. */
import { describe, expect, test } from 'bun:test'
import { byGroup, createCoalescer, ItemFailure } from '../../db/coalesce'

describe('createCoalescer', () => {
  test('the first item goes out at once; items that arrive while it is in flight share the next batch', async () => {
    const batches: number[][] = []
    const coalescer = createCoalescer<number, number>(
      async (items) => {
        batches.push(items)
        await Bun.sleep(10)
        return items.map((n) => n * 2)
      },
      { maxInFlight: 1 },
    )
    const first = coalescer.add(1)
    await Bun.sleep(1)
    const rest = [2, 3, 4].map((n) => coalescer.add(n))
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8])
    expect(batches).toEqual([[1], [2, 3, 4]])
  })

  test("wait: 'turn' (libsql, whose statements run on this thread) gathers what comes in the same turn, across separate tasks", async () => {
    const batches: number[][] = []
    const flush = async (items: number[]) => {
      batches.push(items)
      return items
    }
    const byTurn = createCoalescer<number, number>(flush, { wait: 'turn' })
    const byMicrotask = createCoalescer<number, number>(flush)
    // Each caller awaits something of its own first, as requests do before they read.
    const callers = (coalescer: typeof byTurn, base: number) => [1, 2, 3].map(async (n) => coalescer.add(base + (await Promise.resolve(n))))
    expect(await Promise.all(callers(byTurn, 10))).toEqual([11, 12, 13])
    expect(batches).toEqual([[11, 12, 13]])
    batches.length = 0
    await Promise.all([1, 2, 3].map((n) => new Promise<number>((resolve) => setTimeout(() => resolve(byMicrotask.add(n)), 0))))
    expect(batches).toEqual([[1], [2], [3]])
  })

  test('an ItemFailure fails only its own caller; a thrown flush fails the whole batch', async () => {
    const picky = createCoalescer<number, number>(async (items) => items.map((n) => (n === 2 ? new ItemFailure(new Error('two is bad')) : n)))
    const results = await Promise.allSettled([1, 2, 3].map((n) => picky.add(n)))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('two is bad')

    const broken = createCoalescer<number, number>(async () => {
      throw new Error('statement failed')
    })
    const all = await Promise.allSettled([1, 2].map((n) => broken.add(n)))
    expect(all.map((r) => r.status)).toEqual(['rejected', 'rejected'])
  })
})

describe('byGroup', () => {
  test('runs once per key and gives each item its own result, in the original order', async () => {
    const runs: string[][] = []
    const out = await byGroup(['a1', 'b1', 'a2'], (item) => item[0]!, async (group) => {
      runs.push(group)
      return group.map((item) => item.toUpperCase())
    })
    expect(out).toEqual(['A1', 'B1', 'A2'])
    expect(runs).toEqual([['a1', 'a2'], ['b1']])
  })
})
