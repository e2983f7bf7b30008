/**
 * Picks the database from configuration: an embedded libsql file by default,
 * PostgreSQL when DATABASE_URL is postgres://…. Each is handed to the stores
 * with its own types (`handle`); neither is ever typed as the other.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createClient, type Client } from '@libsql/client'
import { sql } from 'drizzle-orm'
import { drizzle as drizzleLibsql, type LibSQLDatabase } from 'drizzle-orm/libsql'
import { migrate as migrateLibsql } from 'drizzle-orm/libsql/migrator'
import { drizzle as drizzlePg, type NodePgDatabase, type NodePgQueryResultHKT } from 'drizzle-orm/node-postgres'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import type { ResultSet } from '@libsql/client'
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import { batchConnectionWrites } from './pg/write-batching'
import * as pgSchema from './schema/pg'
import * as sqliteSchema from './schema/sqlite'

/** The libsql database with its own types: what store.sqlite.ts files are written against. */
interface SqliteHandle {
  dialect: 'sqlite'
  orm: LibSQLDatabase<typeof sqliteSchema>
  t: typeof sqliteSchema
}
/** The PostgreSQL database with its own types: what store.pg.ts files are written against. */
interface PgHandle {
  dialect: 'pg'
  orm: NodePgDatabase<typeof pgSchema>
  t: typeof pgSchema
  pool: pg.Pool
  /**
   * A connection of its own, outside the pool, for a session that must stay on
   * one backend (LISTEN); not yet connected. close() ends it with the pool, so
   * it never keeps a stopping process alive.
   */
  dedicatedClient(): pg.Client
}
/** Either dialect, told apart by `dialect`; only src/stores.ts looks at it. */
type DbHandle = SqliteHandle | PgHandle
/** The database or a transaction of it, per dialect: store methods run on either. */
export type SqliteExec = BaseSQLiteDatabase<'async', ResultSet, typeof sqliteSchema>
export type PgExec = PgDatabase<NodePgQueryResultHKT, typeof pgSchema>

export interface Database {
  dialect: 'sqlite' | 'pg'
  /** The dialect's own database and tables, for stores. */
  handle: DbHandle
  /** A trivial round trip, for readiness checks. */
  ping(): Promise<void>
  /** Applies pending migrations of this dialect. */
  migrate(): Promise<void>
  close(): Promise<void>
}

/** How long a libsql statement waits for another connection's write lock before it fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000

const migrationsFolder = (dialect: 'sqlite' | 'pg') => join(import.meta.dir, 'migrations', dialect)

export interface DatabaseOptions {
  url: string
  poolSize?: number
  /** PostgreSQL only: send each query's protocol messages in one socket write (PG_WRITE_BATCHING; db/pg/write-batching.ts). */
  pgWriteBatching?: boolean
  /** PostgreSQL only: where dedicated connections (LISTEN) go, when not `url` (DATABASE_LISTEN_URL: past a transaction-mode pooler). */
  listenUrl?: string | null
}

/**
 * @example
 * const db = createDatabase({ url: 'file:./data/council.db' })
 * await db.migrate()
 */
export function createDatabase({ url, poolSize = 10, pgWriteBatching = false, listenUrl = null }: DatabaseOptions): Database {
  if (url.startsWith('postgres')) return createPgDatabase(url, poolSize, pgWriteBatching, listenUrl ?? url)
  return createSqliteDatabase(url)
}

function createSqliteDatabase(url: string): Database {
  if (url.startsWith('file:')) mkdirSync(dirname(url.slice('file:'.length)), { recursive: true })
  // The busy timeout goes to every connection the client opens (it pools them: a transaction holds one
  // of its own): a PRAGMA reaches only the connection that ran it, so a second connection, or a
  // process that never migrates (a script, a test seeding the file), failed with SQLITE_BUSY at once
  // whenever another connection was writing.
  const client = serialised(createClient({ url, timeout: BUSY_TIMEOUT_MS }))
  const orm = drizzleLibsql(client, { schema: sqliteSchema })
  const handle: SqliteHandle = { dialect: 'sqlite', orm, t: sqliteSchema }
  let tuned = false
  const tune = async () => {
    if (tuned) return
    tuned = true
    // WAL lets readers proceed while the in-process runner writes; the setting persists in the file.
    await client.execute('PRAGMA journal_mode = WAL').catch(() => undefined)
  }
  return {
    dialect: 'sqlite',
    handle,
    async ping() {
      await orm.run(sql`select 1`)
    },
    async migrate() {
      await tune()
      await migrateLibsql(orm, { migrationsFolder: migrationsFolder('sqlite') })
    },
    async close() {
      client.close()
    },
  }
}

function createPgDatabase(url: string, poolSize: number, writeBatching: boolean, listenUrl: string): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize })
  // Each new connection of this pool, before its first query; pg types leave `connection` out.
  if (writeBatching) pool.on('connect', (client) => batchConnectionWrites((client as unknown as { connection: unknown }).connection))
  // An idle client's error (e.g. the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined)
  const pgOrm = drizzlePg(pool, { schema: pgSchema })
  const dedicated = new Set<pg.Client>()
  let closed = false
  const dedicatedClient = () => {
    if (closed) throw new Error('The database is closed.')
    const client = new pg.Client({ connectionString: listenUrl })
    dedicated.add(client)
    client.once('end', () => dedicated.delete(client))
    return client
  }
  const handle: PgHandle = { dialect: 'pg', orm: pgOrm, t: pgSchema, pool, dedicatedClient }
  return {
    dialect: 'pg',
    handle,
    async ping() {
      await pool.query('select 1')
    },
    async migrate() {
      await migratePg(pgOrm, { migrationsFolder: migrationsFolder('pg'), migrationsSchema: await migrationsSchemaOf(pool, url) })
    },
    async close() {
      closed = true
      await Promise.all([...dedicated].map((client) => client.end().catch(() => undefined)))
      await pool.end()
    },
  }
}

/**
 * The local libsql client is synchronous and gives each transaction a
 * connection of its own; a second writer meanwhile would spin on the file lock
 * while blocking the event loop the first needs to finish — a stall, then
 * SQLITE_BUSY. So statements and transactions of one process take turns on a
 * FIFO lock: a transaction holds it from BEGIN to COMMIT/ROLLBACK. Statements
 * inside a transaction go through the transaction object, never the client,
 * so they do not wait on the lock they hold.
 */
function serialised(client: Client): Client {
  let tail: Promise<void> = Promise.resolve()
  const acquire = (): Promise<() => void> => {
    let release!: () => void
    const previous = tail
    tail = new Promise<void>((resolve) => (release = resolve))
    return previous.then(() => release)
  }
  const locked =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const release = await acquire()
      try {
        return await fn(...args)
      } finally {
        release()
      }
    }
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'execute' || property === 'batch' || property === 'executeMultiple' || property === 'migrate')
        return locked((...args: unknown[]) => (target[property] as (...a: unknown[]) => Promise<unknown>).apply(target, args))
      if (property === 'transaction')
        return async (...args: Parameters<Client['transaction']>) => {
          const release = await acquire()
          let released = false
          const done = () => {
            if (!released) (released = true), release()
          }
          try {
            const tx = await target.transaction(...args)
            const end =
              <F extends (...a: never[]) => unknown>(fn: F) =>
              async (...a: Parameters<F>) => {
                try {
                  return await fn.apply(tx, a)
                } finally {
                  done()
                }
              }
            return Object.assign(tx, { commit: end(tx.commit), rollback: end(tx.rollback), close: end(tx.close) })
          } catch (error) {
            done()
            throw error
          }
        }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * Where drizzle tracks applied migrations. A database confined to one schema
 * (`?options=-c search_path=X`: tests, multi-tenant installs) tracks them
 * inside that schema, beside its tables; otherwise in the shared "drizzle"
 * schema, as installs always have. The schema is asked of the server rather
 * than read off the URL, because PostgreSQL folds an unquoted `MySchema` to
 * `myschema` (where the tables land) and keeps a quoted `"MySchema"` as is.
 */
async function migrationsSchemaOf(pool: pg.Pool, url: string): Promise<string> {
  const options = new URL(url).searchParams.get('options') ?? ''
  if (!/search_path\s*=/.test(options)) return 'drizzle'
  const { rows } = await pool.query<{ schema: string | null }>('select current_schema() as schema')
  const schema = rows[0]?.schema
  if (!schema) throw new Error(`The search_path in DATABASE_URL (${options}) names no existing schema; create it first.`)
  return schema
}

/** Time-ordered ids: keyset pagination on `id` follows creation order. */
export const newId = (): string => Bun.randomUUIDv7()

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Is this a well-formed id? Anything else cannot name a row, so callers answer 404 without a query. */
export const isId = (value: string): boolean => ID.test(value)
