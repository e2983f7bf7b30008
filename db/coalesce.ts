/**
 * Group commit, in the application. Many councils finish a stage at the same
 * moment (1,000 drafts land within a millisecond when the provider answers
 * together); written one by one, each is a round trip and a commit. A
 * coalescer sends the first write at once and gathers those that arrive while
 * earlier batches are in flight into one statement, so under light load it adds
 * no latency and under heavy load the number of statements stays small. Every
 * caller's promise settles only when its own row is committed, so "each
 * stage's output is written before the next starts" still holds.
 */
export interface CoalescerOptions {
  /** Largest batch per statement (keep rows × columns under the driver's parameter limit). */
  maxBatch?: number
  /** Batches in flight at once. */
  maxInFlight?: number
  /**
   * How long the first item waits for company: to the end of the current
   * microtask queue (PostgreSQL: the round trip gathers the rest), or to the
   * next turn of the event loop (libsql runs each statement on this thread, so
   * nothing arrives while one is "in flight": waiting a turn lets the requests
   * read in the same turn share the statement).
   */
  wait?: 'microtask' | 'turn'
}

/**
 * A flush result that fails one item only: that caller's promise rejects with
 * `error`, the others in the batch still resolve (a thrown flush rejects them all).
 */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export function createCoalescer<Item, Result>(
  flush: (items: Item[]) => Promise<Array<Result | ItemFailure>>,
  { maxBatch = 500, maxInFlight = 4, wait = 'microtask' }: CoalescerOptions = {},
) {
  const queue: Array<{ item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }> = []
  let inFlight = 0
  let scheduled = false

  const pump = () => {
    scheduled = false
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch)
      inFlight++
      flush(batch.map((entry) => entry.item))
        .then(
          (results) =>
            batch.forEach((entry, i) => {
              const result = results[i]
              if (result instanceof ItemFailure) entry.reject(result.error)
              else entry.resolve(result as Result)
            }),
          (error) => batch.forEach((entry) => entry.reject(error)),
        )
        .finally(() => {
          inFlight--
          pump()
        })
    }
  }

  return {
    add(item: Item): Promise<Result> {
      return new Promise<Result>((resolve, reject) => {
        queue.push({ item, resolve, reject })
        // Wait one microtask (or turn) so writes issued together share a statement.
        if (!scheduled) {
          scheduled = true
          if (wait === 'turn') setImmediate(pump)
          else queueMicrotask(pump)
        }
      })
    },
  }
}

/**
 * Splits `items` into groups by key and runs `run` once per group, returning
 * results in the original order — for coalesced updates, where one statement
 * serves all rows that receive the same values.
 */
export async function byGroup<Item, Result>(
  items: Item[],
  keyOf: (item: Item) => string,
  run: (group: Item[]) => Promise<Result[]>,
): Promise<Result[]> {
  const groups = new Map<string, number[]>()
  items.forEach((item, i) => {
    const key = keyOf(item)
    const list = groups.get(key)
    if (list) list.push(i)
    else groups.set(key, [i])
  })
  const results: Result[] = new Array(items.length)
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const out = await run(indexes.map((i) => items[i]!))
      indexes.forEach((index, k) => (results[index] = out[k]!))
    }),
  )
  return results
}
