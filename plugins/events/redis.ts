/**
 * Job events in Redis, for BullMQ workers: a worker appends each event to the
 * job's stream (XADD, capped by MAXLEN, expiring a while after `done`) and
 * publishes it on the job's channel in the same script, so the stream order and
 * the live order are one. Any app instance replays a job's stream from a
 * Last-Event-ID with XRANGE and follows it live through ONE subscriber
 * connection per instance, shared by every client of every job it serves (a
 * channel is subscribed while at least one client follows that job). The
 * stream ids ("<ms>-<seq>") are the event ids: increasing within a job.
 *
 * If the subscriber connection drops, ioredis resubscribes on reconnect and
 * each followed job's stream is read from the last id delivered, so live
 * followers miss nothing published meanwhile.
 */
import IORedis from 'ioredis'
import type { EventLogLimits, JobEvent, JobEventLog, NewJobEvent } from './types'

/**
 * Appends a batch of events, in order: KEYS are each event's stream and
 * channel, ARGV the max events per stream, then each event's payload JSON and
 * ttl ms. Returns the new ids. One script call per batch: the events published
 * in one turn of the event loop (a burst of councils' member events) cost one
 * command, not one each.
 */
const PUBLISH = `
local ids = {}
for i = 1, #KEYS / 2 do
  local id = redis.call('XADD', KEYS[2 * i - 1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[2 * i])
  redis.call('PEXPIRE', KEYS[2 * i - 1], ARGV[2 * i + 1])
  redis.call('PUBLISH', KEYS[2 * i], id .. ' ' .. ARGV[2 * i])
  ids[i] = id
end
return ids
`

const PUBLISH_SHA = new Bun.CryptoHasher('sha1').update(PUBLISH).digest('hex')
/** Events per script call (each is two keys and two arguments). */
const BATCH = 500

const ID = /^\d{1,20}-\d{1,20}$/

const parseId = (id: string): [number, number] => {
  const dash = id.indexOf('-')
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

const decode = (id: string, payload: string): JobEvent | null => {
  try {
    const { type, data } = JSON.parse(payload) as NewJobEvent
    return { id, type, data }
  } catch {
    return null
  }
}

export interface RedisEventLogOptions extends EventLogLimits {
  url: string
  /** Prepended to every key and channel: installs (or test runs) sharing one Redis use different prefixes. */
  prefix: string
}

interface Followed {
  listeners: Set<(event: JobEvent) => void>
  /** The last id handed to the listeners, to catch up from after a reconnect. */
  lastId: string | null
  /** Resolves when SUBSCRIBE has been acknowledged. */
  ready: Promise<unknown>
}

/**
 * @example
 * const log = createRedisEventLog({ url: 'redis://127.0.0.1:6379', prefix: 'events', maxEvents: 5000, retainMs: 3_600_000, idleMs: 21_600_000 })
 */
export function createRedisEventLog({ url, prefix, maxEvents, retainMs, idleMs }: RedisEventLogOptions): JobEventLog {
  const streamKey = (jobId: string) => `${prefix}:job:${jobId}`
  const channelOf = (jobId: string) => `${prefix}:live:${jobId}`
  const jobOf = (channel: string) => channel.slice(`${prefix}:live:`.length)

  const commands = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: false, enableAutoPipelining: true })
  commands.on('error', () => undefined) // surfaced by publish/history/health; ioredis reconnects by itself
  // Loaded first, and commands run in the order sent, so every EVALSHA after it finds the script (events of a
  // job stay in order). Only after Redis itself restarted does one answer NOSCRIPT and go again as EVAL.
  commands.script('LOAD', PUBLISH).catch(() => undefined)
  const publishScript = async (keys: string[], args: Array<string | number>): Promise<string[]> => {
    try {
      return (await commands.evalsha(PUBLISH_SHA, keys.length, ...keys, ...args)) as string[]
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
      return (await commands.eval(PUBLISH, keys.length, ...keys, ...args)) as string[]
    }
  }
  // Group commit: the first event goes out at the end of the current turn; those published while a batch is in
  // flight wait for it and go out together (one connection, batches in order, so a job's events stay in order).
  const queued: Array<{ jobId: string; payload: string; ttl: number; resolve: (id: string) => void; reject: (error: unknown) => void }> = []
  let sending = false
  const sendQueued = async () => {
    sending = true
    try {
      while (queued.length > 0) {
        const batch = queued.splice(0, BATCH)
        const keys: string[] = []
        const args: Array<string | number> = [maxEvents]
        for (const event of batch) {
          keys.push(streamKey(event.jobId), channelOf(event.jobId))
          args.push(event.payload, event.ttl)
        }
        await publishScript(keys, args).then(
          (ids) => batch.forEach((event, i) => event.resolve(ids[i]!)),
          (error) => batch.forEach((event) => event.reject(error)),
        )
      }
    } finally {
      sending = false
    }
  }

  let subscriber: IORedis | null = null
  const followed = new Map<string, Followed>()
  const deliver = (entry: Followed, event: JobEvent) => {
    if (entry.lastId && compare(event.id, entry.lastId) <= 0) return
    entry.lastId = event.id
    for (const listener of entry.listeners) {
      try {
        listener(event)
      } catch {
        // One broken listener must not keep the event from the others.
      }
    }
  }
  const readStream = async (jobId: string, after: string | null): Promise<JobEvent[]> => {
    const entries = (await commands.xrange(streamKey(jobId), after ? `(${after}` : '-', '+')) as Array<[string, string[]]>
    const events: JobEvent[] = []
    for (const [id, fields] of entries) {
      const event = decode(id, fields[fields.indexOf('e') + 1] ?? '')
      if (event) events.push(event)
    }
    return events
  }
  const subscriberConnection = () => {
    if (subscriber) return subscriber
    const connection = new IORedis(url, { maxRetriesPerRequest: null, lazyConnect: false })
    connection.on('error', () => undefined)
    connection.on('message', (channel: string, message: string) => {
      const entry = followed.get(jobOf(channel))
      const space = message.indexOf(' ')
      const event = entry && space > 0 ? decode(message.slice(0, space), message.slice(space + 1)) : null
      if (entry && event) deliver(entry, event)
    })
    let connectedBefore = false
    connection.on('ready', () => {
      if (!connectedBefore) {
        connectedBefore = true
        return
      }
      // Back after a drop: what was published meanwhile is in the streams.
      for (const [jobId, entry] of followed)
        if (entry.lastId)
          void readStream(jobId, entry.lastId)
            .then((missed) => missed.forEach((event) => deliver(entry, event)))
            .catch(() => undefined)
    })
    return (subscriber = connection)
  }

  function compare(a: string, b: string): number {
    const [ams, aseq] = parseId(a)
    const [bms, bseq] = parseId(b)
    return ams - bms || aseq - bseq
  }

  return {
    backend: 'redis',
    publish(jobId, event) {
      const payload = JSON.stringify({ type: event.type, data: event.data })
      return new Promise<string>((resolve, reject) => {
        if (queued.length === 0 && !sending) queueMicrotask(() => void sendQueued())
        queued.push({ jobId, payload, ttl: event.type === 'done' ? retainMs : idleMs, resolve, reject })
      })
    },
    async followed(jobIds) {
      const found = new Set<string>()
      // PUBSUB NUMSUB counts every instance's subscribers: an app instance subscribes a job's channel while a client follows it.
      for (let start = 0; start < jobIds.length; start += 1000) {
        const reply = (await commands.pubsub('NUMSUB', ...jobIds.slice(start, start + 1000).map(channelOf))) as Array<string | number>
        for (let i = 0; i < reply.length; i += 2) if (Number(reply[i + 1]) > 0) found.add(jobOf(String(reply[i])))
      }
      return found
    },
    history: readStream,
    async subscribe(jobId, listener) {
      const connection = subscriberConnection()
      let entry = followed.get(jobId)
      if (!entry) {
        entry = { listeners: new Set(), lastId: null, ready: connection.subscribe(channelOf(jobId)) }
        followed.set(jobId, entry)
      }
      entry.listeners.add(listener)
      try {
        await entry.ready
      } catch (error) {
        entry.listeners.delete(listener)
        if (entry.listeners.size === 0 && followed.get(jobId) === entry) followed.delete(jobId)
        throw error
      }
      const subscribed = entry
      return () => {
        subscribed.listeners.delete(listener)
        if (subscribed.listeners.size > 0 || followed.get(jobId) !== subscribed) return
        followed.delete(jobId)
        void connection.unsubscribe(channelOf(jobId)).catch(() => undefined)
      }
    },
    compare,
    isId: (id) => ID.test(id),
    async health() {
      await commands.ping()
      return { backend: 'redis', followed: followed.size }
    },
    async close() {
      followed.clear()
      subscriber?.disconnect()
      commands.disconnect()
    },
  }
}
