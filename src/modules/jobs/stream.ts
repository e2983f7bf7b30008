/**
 * A job's events as a server-sent event stream (text/event-stream): every
 * event with its `id:`, `event:` and one line of JSON `data:`; a comment
 * heartbeat whenever nothing was sent for a while; the end after `done`.
 * Serves GET /api/v1/jobs/:id/events and, with `transform`, the live session
 * page's stream (the same events, with server-rendered HTML added).
 *
 * A job whose `done` never reached the log (its runner died, or the log
 * expired) is not followed forever: when the stream has been idle and the job
 * row says it finished, the stream writes the missing `done` to the log itself,
 * where every follower of the job gets it.
 */
import type { JobRow } from '../../../db/schema'
import { followJob, type JobEvent, type JobEventLog } from '../../../plugins/events'
import { AppError } from '../../errors'

/** A finished job's `done` may still be on its way from the runner for this long; after it, a missing one is written here. */
const DONE_GRACE_MS = 2000
const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

export interface JobStreamOptions {
  log: JobEventLog
  job: JobRow
  /** The client's Last-Event-ID: the stream resumes after it. */
  lastEventId: string | null
  heartbeatMs: number
  /** Aborted when the client goes away (the request's own signal). */
  signal: AbortSignal
  /** Reads the job again (to notice it finished without a `done` in the log). */
  reload(): Promise<JobRow | undefined>
  /** Adds to an event before it is sent (the page's HTML); the event keeps its id. */
  transform?: (event: JobEvent) => Promise<JobEvent>
}

const doneFromRow = (job: JobRow) => ({
  type: 'done' as const,
  data: {
    status: job.status,
    error: job.error,
    ...(job.output && 'failure' in job.output ? { failure: job.output.failure } : {}),
    at: new Date().toISOString(),
  },
})

/** 400 for a Last-Event-ID that this backend could never have sent. */
export function checkLastEventId(log: JobEventLog, value: string | null | undefined): string | null {
  if (value === null || value === undefined || value === '') return null
  if (!log.isId(value)) throw new AppError(400, 'invalid_last_event_id', 'Last-Event-ID is not an event id of this stream; reconnect without it to start from the beginning.')
  return value
}

const encoder = new TextEncoder()
/**
 * An event's bytes on the wire. A log hands the same event object to every
 * follower of the job on this instance, so it is serialised once, not once per
 * client (five tabs on one council send one JSON.stringify, not five).
 */
const frames = new WeakMap<JobEvent, Uint8Array>()
const frame = (event: JobEvent): Uint8Array => {
  let bytes = frames.get(event)
  if (!bytes) frames.set(event, (bytes = encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`)))
  return bytes
}

/**
 * @example
 * return jobEventStream({ log, job, lastEventId: headers['last-event-id'] ?? null, heartbeatMs: 15_000, signal: request.signal, reload })
 */
export function jobEventStream({ log, job, lastEventId, heartbeatMs, signal, reload, transform }: JobStreamOptions): Response {
  const stop = new AbortController()
  const onAbort = () => stop.abort()
  signal.addEventListener('abort', onAbort, { once: true })

  /** Writes a `done` from the job row if the job finished a while ago and the log has none. */
  const repair = async (row: JobRow | undefined) => {
    if (!row || !FINISHED.has(row.status)) return
    if (row.finishedAt && Date.now() - row.finishedAt.getTime() < DONE_GRACE_MS) return
    if ((await log.history(row.id, null)).some((event) => event.type === 'done')) return
    await log.publish(row.id, doneFromRow(row))
  }

  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (chunk: string | Uint8Array) => {
        if (!stop.signal.aborted) controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
      }
      try {
        // Clients reconnect after 2 s when the connection drops (EventSource then sends Last-Event-ID by itself).
        send('retry: 2000\n\n')
        if (FINISHED.has(job.status)) await repair(job)
        const events = followJob(log, job.id, lastEventId, {
          signal: stop.signal,
          idleMs: heartbeatMs,
          idle: async () => {
            send(': heartbeat\n\n')
            await repair(await reload()).catch(() => undefined)
          },
        })
        for await (const event of events) send(frame(transform ? await transform(event).catch(() => event) : event))
      } catch {
        // The log failed: end the stream; the client reconnects with its Last-Event-ID and resumes.
      } finally {
        signal.removeEventListener('abort', onAbort)
        try {
          controller.close()
        } catch {
          // Already closed by the client going away.
        }
      }
    },
    cancel() {
      stop.abort()
    },
  })
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Proxies (nginx) must pass each event on at once rather than buffer the response.
      'x-accel-buffering': 'no',
    },
  })
}
