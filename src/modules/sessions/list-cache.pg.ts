/**
 * Session list pages kept in memory on PostgreSQL, served only while provably
 * current.
 *
 * Why: a list page spread over many users costs PostgreSQL ~110–140 µs to
 * build as JSON and the server ~50 µs to map (store.pg.ts `readManyPages`),
 * which kept (c*) of the http benchmark above p99 15 ms; an unchanged page
 * served from memory costs what a page shared by one batch costs. (c*) at 50
 * connections: p99 27.5–34.2 ms → 11.6–15.3 ms (five runs, four under 15),
 * ~3,900 → ~11,000 requests/s; (c) 15.3–20.4 → 9.6–14.2 ms. The cost is on
 * writes: a transaction that notifies takes a database-wide lock to commit,
 * so single-row updates of sessions alone fall from ~11,000/s to ~4,000/s
 * (pgbench, 8 clients); the app's writes are batched (coalescers), and the
 * jobs and create/run benchmarks did not move beyond their noise.
 *
 * How it stays exact. Migration 0011 makes every statement on sessions or
 * documents NOTIFY `session_lists` with the owners it touched ('*' = all). One
 * dedicated connection per process LISTENs, opened on the first list read (the
 * worker never lists, so never opens one), and each notification bumps its
 * owners' stamps. Before a cached page is served, one query goes round that
 * connection, shared by the requests of the moment: PostgreSQL delivers every
 * notification whose transaction committed before the query arrived ahead of
 * the query's answer (the committer signals listeners before its client hears
 * COMMIT succeed; the listener sends pending notifications before
 * ReadyForQuery), and node-postgres handles them in order, so after the
 * barrier an owner whose stamp is unchanged has no write the request could
 * have seen (tests/unit/stores/session-list-cache.test.ts checks it from a
 * separate connection). If the connection fails, everything cached is
 * forgotten and lists are read from the database until it is back.
 */
import type pg from 'pg'
import { createCoalescer } from '../../../db/coalesce'
import { deepFreeze } from '../../freeze'
import type { SessionPage } from './store'

/** The channel migration 0011's triggers notify. */
const CHANNEL = 'session_lists'

export interface SessionListCacheOptions {
  /** A new, unconnected connection to LISTEN on (db/client.ts `dedicatedClient`; DATABASE_LISTEN_URL when set). */
  connect: () => pg.Client
  /**
   * Through the store's own database (its pool): the schema its `sessions`
   * table is in, and a way to send a notification. The listener proves it hears
   * that database before any page is kept: a listening connection that reached
   * another database, or another schema's search_path, would otherwise never
   * hear a change and serve stale pages for good.
   */
  viaPool: { schema: () => Promise<string>; notify: (payload: string) => Promise<unknown> }
  /** How long the proof may take before the listener is given up and tried again later. */
  probeTimeoutMs?: number
  /**
   * Memory the kept pages may take, by estimate (oldest stored out first): measured
   * 11.4 MB for 1,000 pages of 26 rows with 200-character questions; a page's
   * estimate counts its text (questions, errors, file names) and ~450 bytes a row.
   */
  maxBytes?: number
  /** Owners whose stamps are remembered at most before all are forgotten at once (memory bound; drops the cache too). */
  maxOwners?: number
}

interface PageKey {
  userId: string
  after: string | null
  limit: number
}

export interface SessionListCache {
  /** The page, from memory when nothing of its owner changed since it was read, else from `load` (and kept). */
  read(key: PageKey, load: () => Promise<SessionPage>): Promise<SessionPage>
}

/** Reconnection waits: doubled from the first up to the last while the database refuses. */
const FIRST_RETRY_MS = 100
const LAST_RETRY_MS = 5_000

/**
 * @example
 * const lists = createSessionListCache({ connect: () => handle.dedicatedClient(), viaPool: { schema, notify } })
 * const page = await lists.read({ userId, after: null, limit: 26 }, () => readPages.add({ userId, after: null, limit: 26 }))
 */
export function createSessionListCache({ connect, viaPool, probeTimeoutMs = 2_000, maxBytes = 32 * 1024 * 1024, maxOwners = 100_000 }: SessionListCacheOptions): SessionListCache {
  /**
   * Stamps only grow. An owner's stamp is the tick of its last notification,
   * or `everyone` (the tick of the last '*' or lost connection) when none came
   * since; a page is current while its owner's stamp equals the one it was
   * read under.
   */
  let tick = 0
  let everyone = 0
  const ownerStamps = new Map<string, number>()
  const stampOf = (userId: string) => ownerStamps.get(userId) ?? everyone
  const pages = new Map<string, { page: SessionPage; stamp: number; bytes: number }>()
  let keptBytes = 0

  const forgetAll = () => {
    everyone = ++tick
    ownerStamps.clear()
    pages.clear()
    keptBytes = 0
  }
  /** `payload` is migration 0011's: 'schema:*' or 'schema:["owner", …]'; other schemas' are not ours. */
  const noteChanged = (prefix: string, payload: string | undefined) => {
    if (!payload?.startsWith(prefix)) return
    const owners = payload.slice(prefix.length)
    if (owners === '*' || ownerStamps.size >= maxOwners) return forgetAll()
    let ids: unknown
    try {
      ids = JSON.parse(owners)
    } catch {
      return forgetAll()
    }
    if (!Array.isArray(ids)) return forgetAll()
    const stamp = ++tick
    for (const userId of ids) ownerStamps.set(String(userId), stamp)
  }

  /** The listening connection once LISTEN has been answered, and its backend; null while there is none. */
  let listening: pg.Client | null = null
  let listeningPid = 0
  /**
   * Set for good when a barrier is answered by another backend than the one
   * that LISTENs: a pooler in transaction mode (PgBouncer) sits between, so
   * notifications may go elsewhere and no page can be proven current. A guard
   * that catches the pooler once it switches backends, not a proof: the
   * listener must reach PostgreSQL directly (or through a session pooler).
   */
  let behindPooler = false
  let opening = false
  let retryMs = FIRST_RETRY_MS
  let retryAt = 0

  const lost = (client: pg.Client) => {
    if (listening === client) listening = null
    forgetAll()
    client.removeAllListeners()
    client.on('error', () => undefined)
    client.end().catch(() => undefined)
  }
  const open = async () => {
    opening = true
    let client: pg.Client | null = null
    try {
      client = connect()
      const opened = client
      // An idle connection's error (a terminated backend, a restart) must not crash the process: it only ends the cache.
      opened.on('error', () => lost(opened))
      opened.on('end', () => lost(opened))
      await opened.connect()
      // The schema of the sessions table the store's own statements reach (the pool's search_path), as the triggers name it.
      const prefix = `${await viaPool.schema()}:`
      const { rows } = await opened.query<{ pid: number }>('select pg_backend_pid() as pid')
      const pid = rows[0]!.pid
      // The proof: a notification sent through the pool must arrive here, or this connection hears another database.
      const token = `${prefix}["probe:${crypto.randomUUID()}"]`
      let heard: () => void = () => undefined
      const proof = new Promise<void>((resolve) => (heard = resolve))
      opened.on('notification', (message) => {
        if (message.channel !== CHANNEL) return
        if (message.payload === token) return heard()
        noteChanged(prefix, message.payload)
      })
      await opened.query(`listen ${CHANNEL}`)
      await viaPool.notify(token)
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the listening connection did not hear the database (DATABASE_LISTEN_URL)')), probeTimeoutMs)
      })
      await Promise.race([proof, late]).finally(() => clearTimeout(timer))
      // Pages read before LISTEN was answered may miss a notification; none were kept (no connection), but start clean.
      forgetAll()
      listening = opened
      listeningPid = pid
      retryMs = FIRST_RETRY_MS
    } catch {
      if (client) lost(client)
      retryAt = Date.now() + retryMs
      retryMs = Math.min(retryMs * 2, LAST_RETRY_MS)
    } finally {
      opening = false
    }
  }

  /**
   * The barrier: one round trip for all the requests waiting when it is sent.
   * Each request waits for one sent after it arrived (db/coalesce.ts), so the
   * notifications of every write that committed before it are in.
   */
  const barrier = createCoalescer<pg.Client, boolean>(
    async (clients) => {
      const client = clients[0]!
      const ok = await client.query<{ pid: number }>('select pg_backend_pid() as pid').then(
        ({ rows }) => {
          if (listening !== client) return false
          if (rows[0]?.pid === listeningPid) return true
          behindPooler = true
          lost(client)
          return false
        },
        () => false,
      )
      return clients.map((asked) => ok && asked === client)
    },
    { maxInFlight: 1 },
  )

  const drop = (key: string) => {
    const entry = pages.get(key)
    if (!entry) return
    pages.delete(key)
    keptBytes -= entry.bytes
  }
  const keep = (key: string, page: SessionPage, stamp: number) => {
    const bytes = estimatedBytes(page)
    if (bytes > maxBytes) return
    drop(key)
    while (keptBytes + bytes > maxBytes) drop(pages.keys().next().value!)
    pages.set(key, { page: deepFreeze(page), stamp, bytes })
    keptBytes += bytes
  }

  return {
    async read(request, load) {
      const client = listening
      if (behindPooler) return load()
      if (!client) {
        if (!opening && Date.now() >= retryAt) void open()
        return load()
      }
      if (!(await barrier.add(client))) return load()
      // JSON, not a joined string: no two (owner, cursor, limit) can share a key, whatever characters an id holds.
      const key = JSON.stringify([request.userId, request.after, request.limit])
      const stamp = stampOf(request.userId)
      const cached = pages.get(key)
      if (cached?.stamp === stamp) return cached.page
      const page = await load()
      // A notification (or a lost connection) while the page was read: it may predate the change, keep nothing.
      if (listening === client && stampOf(request.userId) === stamp) keep(key, page, stamp)
      return page
    },
  }
}

/** A page's memory, roughly: its strings at two bytes a character (the worst case) and a fixed share per row for the rest. */
function estimatedBytes(page: SessionPage): number {
  let bytes = 0
  for (const row of page.rows) bytes += 450 + 2 * (row.question.length + (row.error?.length ?? 0))
  for (const doc of page.documents) bytes += 450 + 2 * (doc.filename.length + (doc.error?.length ?? 0))
  return bytes
}
