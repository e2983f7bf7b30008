/**
 * Group a query's protocol messages into one socket write (PG_WRITE_BATCHING).
 *
 * node-postgres sends each extended-protocol query as five messages (parse,
 * bind, describe, execute, sync), corking the socket so they leave together.
 * Under Bun a corked node:net socket still writes each chunk separately — one
 * native write per message — and that was 38 % of the worker's CPU in the jobs
 * benchmark (docs/PERFORMANCE.md). This wraps the message methods of ONE
 * connection so that what a query sends up to its sync (or flush) goes out as
 * one write. It is installed per pool connection by db/client.ts when the
 * setting is on — never on pg's prototypes, so nothing else in the process is
 * affected — and it checks the internals it relies on first, throwing a clear
 * error if a pg upgrade changed them (tests/unit/pg-write-batching.test.ts).
 */

/** The parts of pg's internal Connection (pg/lib/connection.js) this relies on. */
interface PgConnectionInternals {
  _send(buffer: Buffer): boolean
  stream: { writable: boolean; write(buffer: Buffer): boolean }
  parse(...args: unknown[]): void
  bind(...args: unknown[]): void
  describe(...args: unknown[]): void
  execute(...args: unknown[]): void
  close(...args: unknown[]): void
  sync(): void
  flush(): void
}

/** Messages that open or continue a batch, and the two that end one. */
const BATCHED = ['parse', 'bind', 'describe', 'execute', 'close'] as const
const BARRIERS = ['sync', 'flush'] as const

/** Throws naming what changed when pg's Connection no longer has the shape batching wraps. */
export function assertBatchableConnection(connection: unknown): asserts connection is PgConnectionInternals {
  const candidate = connection as Record<string, unknown> | null
  const missing = ['_send', ...BATCHED, ...BARRIERS].filter((name) => typeof candidate?.[name] !== 'function')
  const stream = candidate?.stream as Record<string, unknown> | undefined
  if (typeof stream?.write !== 'function') missing.push('stream.write')
  if (missing.length > 0)
    throw new Error(
      `PG_WRITE_BATCHING: pg's Connection no longer has ${missing.join(', ')}; the installed pg changed its internals. ` +
        'Turn PG_WRITE_BATCHING off (it is an optimisation only) and update db/pg/write-batching.ts.',
    )
}

/**
 * @example
 * pool.on('connect', (client) => batchConnectionWrites((client as unknown as { connection: unknown }).connection))
 */
export function batchConnectionWrites(connection: unknown): void {
  assertBatchableConnection(connection)
  const target = connection as unknown as Record<string, (...args: unknown[]) => unknown>
  const send = connection._send.bind(connection)
  let pending: Buffer[] | null = null
  const release = () => {
    const chunks = pending
    pending = null
    if (chunks && chunks.length > 0 && connection.stream.writable) connection.stream.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
  }
  connection._send = (buffer: Buffer) => {
    if (!pending) return send(buffer)
    pending.push(buffer)
    return true
  }
  for (const name of BATCHED) {
    const original = target[name]!.bind(connection)
    target[name] = (...args: unknown[]) => {
      pending ??= []
      return original(...args)
    }
  }
  // flush() writes to the stream itself rather than through _send: release what is pending first.
  const flush = target.flush!.bind(connection)
  target.flush = () => {
    release()
    return flush()
  }
  const sync = target.sync!.bind(connection)
  target.sync = () => {
    pending ??= []
    try {
      return sync()
    } finally {
      release()
    }
  }
}
