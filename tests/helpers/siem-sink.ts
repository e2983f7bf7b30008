/**
 * A SIEM stand-in for the audit stream tests: an HTTP endpoint on a port of its
 * own that is refused until `listen()`, answers 500 for the next `failNext`
 * requests or once `acceptOnly` more were accepted, and keeps the JSON lines of
 * every batch it accepted.
 */
import type { AuditEventJson } from '../../plugins/audit'

interface SinkRequest {
  /** Date.now() when it was answered. */
  at: number
  status: number
  contentType: string | null
  authorization: string | null
  lines: number
  endsWithNewline: boolean
}

export interface SiemSink {
  url: string
  /** Lines of the batches answered 2xx, in arrival order. */
  accepted: AuditEventJson[]
  requests: SinkRequest[]
  /** The most requests ever handled at the same time. */
  maxInFlight: number
  /** Answer the next N requests 500. */
  failNext: number
  /** Accept only this many more requests, then answer 500 (null: no limit). */
  acceptOnly: number | null
  /** Starts accepting connections (before this, they are refused). */
  listen(): void
  close(): void
}

/**
 * @example
 * const sink = await createSiemSink()
 * const t = await buildDialectApp('sqlite', { AUDIT_STREAM_URL: sink.url })
 * sink.listen()
 */
export async function createSiemSink({ delayMs = 2 }: { delayMs?: number } = {}): Promise<SiemSink> {
  // A free port, released at once, so connections are refused until listen().
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const port = probe.port
  await probe.stop(true)
  let server: ReturnType<typeof Bun.serve> | null = null
  let inFlight = 0
  const sink: SiemSink = {
    url: `http://127.0.0.1:${port}/ingest`,
    accepted: [],
    requests: [],
    maxInFlight: 0,
    failNext: 0,
    acceptOnly: null,
    listen() {
      server ??= Bun.serve({
        port,
        hostname: '127.0.0.1',
        async fetch(request) {
          inFlight++
          sink.maxInFlight = Math.max(sink.maxInFlight, inFlight)
          try {
            const body = await request.text()
            await Bun.sleep(delayMs)
            const fail = sink.failNext > 0 || sink.acceptOnly === 0
            if (sink.failNext > 0) sink.failNext--
            else if (!fail && sink.acceptOnly !== null) sink.acceptOnly--
            const lines = body.split('\n').filter(Boolean)
            sink.requests.push({
              at: Date.now(),
              status: fail ? 500 : 200,
              contentType: request.headers.get('content-type'),
              authorization: request.headers.get('authorization'),
              lines: lines.length,
              endsWithNewline: body.endsWith('\n'),
            })
            if (fail) return new Response('index unavailable', { status: 500 })
            sink.accepted.push(...lines.map((line) => JSON.parse(line) as AuditEventJson))
            return new Response(null, { status: 204 })
          } finally {
            inFlight--
          }
        },
      })
    },
    close() {
      void server?.stop(true)
      server = null
    },
  }
  return sink
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(20)
  }
}
