/**
 * node-postgres sends each extended-protocol query as five messages (parse,
 * bind, describe, execute, sync), corking the socket so they leave together.
 * Under Bun, a corked node:net socket still writes each chunk separately — one
 * native write per message — and that was 38% of the worker's CPU in the jobs
 * benchmark (docs/PERFORMANCE.md). This concatenates a query's messages into
 * one write. It wraps Query#prepare only; behaviour is otherwise pg's own, and
 * the whole PostgreSQL suite runs through it.
 */
import Query from 'pg/lib/query'

interface BatchingConnection {
  _send(buffer: Buffer): boolean
  stream: { write(buffer: Buffer): boolean }
  __batch?: Buffer[] | null
  __originalSend?: (buffer: Buffer) => boolean
}

let installed = false

export function installPgWriteBatching(): void {
  if (installed) return
  installed = true
  const proto = (Query as unknown as { prototype: { prepare(connection: BatchingConnection): void } }).prototype
  const prepare = proto.prepare
  proto.prepare = function prepareBatched(this: unknown, connection: BatchingConnection) {
    if (!connection.__originalSend) {
      const original = connection._send.bind(connection)
      connection.__originalSend = original
      connection._send = (buffer: Buffer) => {
        if (connection.__batch) {
          connection.__batch.push(buffer)
          return true
        }
        return original(buffer)
      }
    }
    connection.__batch = []
    try {
      prepare.call(this, connection)
    } finally {
      const chunks = connection.__batch
      connection.__batch = null
      if (chunks && chunks.length > 0) connection.__originalSend!(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    }
  }
}
