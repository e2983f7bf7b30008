/**
 * PostgreSQL keeps session list pages in memory and serves them only while
 * provably current (src/modules/sessions/list-cache.pg.ts, migration 0011).
 * Each test first shows a page is served from memory (no page statement sent),
 * then changes the owner's data through a separate connection — as another
 * server or the worker would — and lists again at once: the change must show.
 * Without the invalidation these fail; with it, they also check the barrier's
 * premise that a notification committed before a query is delivered ahead of
 * that query's answer.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import pg from 'pg'
import { createDatabase, newId, type Database } from '../../../db/client'
import type { SessionRow } from '../../../db/schema'
import { createStores, type Stores } from '../../../src/stores'
import { createSessionListCache } from '../../../src/modules/sessions/list-cache.pg'
import type { SessionPage } from '../../../src/modules/sessions/store'
import { pgUnreachable, privateSchema } from '../../helpers/databases'

let db: Database | undefined
let stores: Stores
/** The private schema's URL, for the other databases some tests open on it. */
let schemaUrl = ''
let writer: pg.Client
let dropSchema: (() => Promise<void>) | undefined
let failure: Error | undefined
/** The LISTEN connections the store opened, newest last. */
const listeners: pg.Client[] = []
/** Page statements sent to the pool (one user's prepared page, or many users' lateral statement). */
let pageStatements = 0

beforeAll(async () => {
  try {
    const schema = await privateSchema('lc')
    dropSchema = schema.drop
    schemaUrl = schema.url
    db = createDatabase({ url: schema.url, poolSize: 4 })
    await db.migrate()
    const handle = db.handle
    if (handle.dialect !== 'pg') throw new Error('unreachable: the URL is PostgreSQL')
    // The store asks the handle for its LISTEN connection at call time: record each one to terminate it later.
    const dedicatedClient = handle.dedicatedClient
    handle.dedicatedClient = () => {
      const client = dedicatedClient()
      listeners.push(client)
      return client
    }
    countPageStatements(handle.pool, () => pageStatements++)
    stores = createStores(db)
    writer = new pg.Client({ connectionString: schema.url })
    await writer.connect()
  } catch (error) {
    failure = error as Error
  }
})
afterAll(async () => {
  await writer?.end()
  await db?.close()
  await dropSchema?.()
})

/** Calls `count` for every page statement sent to `pool` (one user's prepared page, or many users' lateral statement). */
function countPageStatements(pool: pg.Pool, count: () => void) {
  // drizzle sends every statement through the pool's query(); pg's types overload it, so it is wrapped untyped.
  const untyped = pool as unknown as { query: (config: unknown, ...rest: unknown[]) => unknown }
  const query = untyped.query
  untyped.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    const sent = config as { name?: string; text?: string } | null
    if (sent && (sent.name === 'sessions_first_page' || sent.name === 'sessions_next_page' || /cross join lateral/.test(sent.text ?? ''))) count()
    return query.call(this, config, ...rest)
  }
}

const ready = () => {
  if (!db) throw new Error(pgUnreachable('The list cache test database', failure))
}
const list = (userId: string, after: string | null = null) => stores.sessions.page(userId, after, 26)
/** Lists and says whether the page came from memory (no page statement sent). */
const listCounted = async (userId: string, after: string | null = null) => {
  const before = pageStatements
  const page = await list(userId, after)
  return { page, fromMemory: pageStatements === before }
}
/** Lists `userId` until a page comes from memory (the listener is up and the page kept); fails after ~3 s. */
async function untilKept(userId: string) {
  for (let i = 0; i < 300; i++) {
    const { fromMemory } = await listCounted(userId)
    if (fromMemory) return
    await Bun.sleep(10)
  }
  throw new Error(`${userId}'s page never came from memory`)
}

const session = (userId: string, question = 'Why?'): SessionRow => {
  const now = new Date()
  return {
    id: newId(), userId, question, paletteId: 'default', status: 'created', stage: null, partial: false, tokensIn: 0, tokensOut: 0,
    costMicroUsd: 0, error: null, webSearch: false, createdAt: now, updatedAt: now, deletedAt: null,
  }
}
/** A session written by the separate connection, as another process would. */
async function insertElsewhere(userId: string, question = 'Written elsewhere?') {
  const id = newId()
  await writer.query(
    `insert into sessions (id, user_id, question, palette_id, status, partial, tokens_in, tokens_out, cost_micro_usd, web_search, created_at, updated_at)
     values ($1, $2, $3, 'default', 'created', false, 0, 0, 0, false, now(), now())`,
    [id, userId, question],
  )
  return id
}

test('a change committed on another connection shows in the very next list: insert, update, soft delete, document, delete', async () => {
  ready()
  const owner = `owner-${newId()}`
  await stores.sessions.insert(session(owner, 'First?'))
  await untilKept(owner)

  const id = await insertElsewhere(owner)
  expect((await list(owner)).rows.map((row) => row.id)).toContain(id)
  await untilKept(owner)

  await writer.query(`update sessions set status = 'running', stage = 'drafts' where id = $1`, [id])
  expect((await list(owner)).rows.find((row) => row.id === id)?.status).toBe('running')
  await untilKept(owner)

  const documentId = newId()
  await writer.query(
    `insert into documents (id, session_id, user_id, storage_key, filename, mime, kind, bytes, sha256, status, pages_done, chars, created_at, updated_at)
     values ($1, $2, $3, 'documents/' || $1, 'a.pdf', 'application/pdf', 'pdf', 1, $4, 'pending', 0, 0, now(), now())`,
    [documentId, id, owner, 'ab'.repeat(32)],
  )
  expect((await list(owner)).documents.map((doc) => doc.id)).toEqual([documentId])
  await untilKept(owner)

  await writer.query(`update sessions set deleted_at = now() where id = $1`, [id])
  expect((await list(owner)).rows.map((row) => row.id)).not.toContain(id)
  await untilKept(owner)

  const [first] = (await list(owner)).rows
  await writer.query(`delete from sessions where id = $1`, [first!.id])
  expect((await list(owner)).rows).toEqual([])
})

test('every one of 200 updates committed elsewhere is seen by the list that follows it', async () => {
  ready()
  const owner = `racer-${newId()}`
  const id = await insertElsewhere(owner, 'v-start')
  await untilKept(owner)
  let fromMemory = 0
  for (let i = 0; i < 200; i++) {
    await writer.query(`update sessions set question = $2 where id = $1`, [id, `v${i}`])
    // Lists in a burst of three share one barrier; all must see this update.
    const pages = await Promise.all([list(owner), list(owner), list(owner)])
    for (const page of pages) expect(page.rows[0]?.question).toBe(`v${i}`)
    if ((await listCounted(owner)).fromMemory) fromMemory++
  }
  // The cache was in play throughout, not bypassed.
  expect(fromMemory).toBeGreaterThan(150)
})

test("another owner's change leaves a kept page in memory", async () => {
  ready()
  const alice = `alice-${newId()}`
  const bob = `bob-${newId()}`
  await insertElsewhere(alice)
  await insertElsewhere(bob)
  await untilKept(alice)
  await untilKept(bob)
  const added = await insertElsewhere(bob)
  expect((await listCounted(alice)).fromMemory).toBe(true)
  const bobs = await listCounted(bob)
  expect(bobs.fromMemory).toBe(false)
  expect(bobs.page.rows.map((row) => row.id)).toContain(added)
})

test('owners changed by one statement beyond one notification, or beyond 1,000, all see it', async () => {
  ready()
  // ~45 bytes an owner: 300 owners need several notifications; 1,100 send '*'.
  for (const count of [300, 1100]) {
    const owners = Array.from({ length: count }, (_, i) => `many-${i}-${newId()}`)
    const watched = [owners[0]!, owners[count - 1]!]
    for (const owner of watched) await insertElsewhere(owner, 'before')
    for (const owner of watched) await untilKept(owner)
    const other = `bystander-${newId()}`
    await insertElsewhere(other)
    await untilKept(other)
    await writer.query(
      `insert into sessions (id, user_id, question, palette_id, status, partial, tokens_in, tokens_out, cost_micro_usd, web_search, created_at, updated_at)
       select gen_random_uuid()::text || '-' || n, owner, 'after', 'default', 'created', false, 0, 0, 0, false, now(), now()
       from unnest($1::text[]) with ordinality as o(owner, n)`,
      [owners],
    )
    for (const owner of watched) expect((await list(owner)).rows.map((row) => row.question).sort()).toEqual(['after', 'before'])
    // Several notifications touch only their owners; '*' empties the whole cache.
    expect((await listCounted(other)).fromMemory).toBe(count <= 1000)
  }
})

test('a terminated listener: lists stay correct, and pages are kept again once it is back', async () => {
  ready()
  const owner = `survivor-${newId()}`
  const id = await insertElsewhere(owner, 'before')
  await untilKept(owner)
  const listener = listeners.at(-1)!
  // pg sets processID from the server's BackendKeyData; its types leave it out.
  await writer.query('select pg_terminate_backend($1)', [(listener as unknown as { processID: number }).processID])
  await writer.query(`update sessions set question = 'while gone' where id = $1`, [id])
  expect((await list(owner)).rows[0]?.question).toBe('while gone')
  await untilKept(owner)
  expect(listeners.at(-1)).not.toBe(listener)
  await writer.query(`update sessions set question = 'after' where id = $1`, [id])
  expect((await list(owner)).rows[0]?.question).toBe('after')
})

test('a kept page cannot be changed by a caller', async () => {
  ready()
  const owner = `frozen-${newId()}`
  await insertElsewhere(owner)
  await untilKept(owner)
  const { page } = await listCounted(owner)
  expect(() => page.rows.pop()).toThrow()
  expect(() => Object.assign(page.rows[0]!, { question: 'changed' })).toThrow()
  expect((await list(owner)).rows).toHaveLength(1)
})

/**
 * Another database on the same server as this one: what a DATABASE_LISTEN_URL
 * pointing at the wrong place would reach. Its notifications never carry this
 * schema's changes, so it must never be trusted.
 */
const elsewhereUrl = () => {
  const url = new URL(schemaUrl)
  url.pathname = '/postgres'
  url.searchParams.delete('options')
  return url.toString()
}

test('a listener that does not hear this database (DATABASE_LISTEN_URL elsewhere) never serves a kept page', async () => {
  ready()
  const other = createDatabase({ url: schemaUrl, poolSize: 2, listenUrl: elsewhereUrl() })
  try {
    const handle = other.handle
    if (handle.dialect !== 'pg') throw new Error('unreachable: the URL is PostgreSQL')
    let statements = 0
    countPageStatements(handle.pool, () => statements++)
    const misled = createStores(other)
    const owner = `misled-${newId()}`
    const id = await insertElsewhere(owner, 'first')
    // Long enough for the listener to connect, LISTEN and wait out its proof (2 s) more than once.
    for (let i = 0; i < 30; i++) {
      const before = statements
      const page = await misled.sessions.page(owner, null, 26)
      expect(statements).toBe(before + 1)
      expect(page.rows[0]?.question).toBe(i === 0 ? 'first' : `change ${i - 1}`)
      await writer.query(`update sessions set question = $2 where id = $1`, [id, `change ${i}`])
      await Bun.sleep(100)
    }
  } finally {
    await other.close()
  }
}, 15_000)

test('SESSION_LIST_CACHE_MB=0 keeps no page and opens no listening connection', async () => {
  ready()
  const other = createDatabase({ url: schemaUrl, poolSize: 2 })
  try {
    const handle = other.handle
    if (handle.dialect !== 'pg') throw new Error('unreachable: the URL is PostgreSQL')
    let statements = 0
    let opened = 0
    countPageStatements(handle.pool, () => statements++)
    const dedicatedClient = handle.dedicatedClient
    handle.dedicatedClient = () => (opened++, dedicatedClient())
    const uncached = createStores(other, { sessionListCacheMb: 0 })
    const owner = `uncached-${newId()}`
    await insertElsewhere(owner)
    for (let i = 0; i < 20; i++) await uncached.sessions.page(owner, null, 26)
    expect(statements).toBe(20)
    expect(opened).toBe(0)
  } finally {
    await other.close()
  }
})

test('kept pages stay within their memory bound: the oldest kept goes first', async () => {
  ready()
  const opened: pg.Client[] = []
  const cache = createSessionListCache({
    connect: () => {
      const client = new pg.Client({ connectionString: schemaUrl })
      opened.push(client)
      return client
    },
    viaPool: {
      schema: async () => (await writer.query<{ schema: string }>('select current_schema() as schema')).rows[0]!.schema,
      notify: (payload) => writer.query('select pg_notify($1, $2)', ['session_lists', payload]),
    },
    // Two pages of one row with a 100-character question (450 + 200 bytes each by the estimate), not three.
    maxBytes: 1_500,
  })
  const loads: string[] = []
  const pageOf = (userId: string): SessionPage => ({ rows: [{ ...session(userId, 'q'.repeat(100)) }], documents: [] })
  const read = (userId: string) =>
    cache.read({ userId, after: null, limit: 26 }, async () => {
      loads.push(userId)
      return pageOf(userId)
    })
  // The first read opens the listener; read until pages are kept.
  for (let i = 0; i < 300 && loads.filter((id) => id === 'a').length < 2; i++) {
    await read('a')
    await Bun.sleep(10)
  }
  loads.length = 0
  await read('a')
  expect(loads).toEqual([])
  await read('b')
  await read('c')
  expect(loads).toEqual(['b', 'c'])
  loads.length = 0
  // 'a' was kept first, so it made room for 'c'; 'b' and 'c' are still kept.
  await read('c')
  await read('b')
  await read('a')
  expect(loads).toEqual(['a'])
  // A page larger than the whole bound is served but never kept.
  const huge = () =>
    cache.read({ userId: 'huge', after: null, limit: 26 }, async () => {
      loads.push('huge')
      return { rows: [{ ...session('huge', 'q'.repeat(1_000)) }], documents: [] }
    })
  await huge()
  await huge()
  expect(loads.filter((id) => id === 'huge')).toHaveLength(2)
  await Promise.all(opened.map((client) => client.end().catch(() => undefined)))
})
