/**
 * Test databases: a fresh migrated libsql file, or a private schema of the real
 * PostgreSQL (at TEST_DATABASE_URL, default the CI one). Store contract suites
 * run the same tests against both (`eachDialect`); the app builder
 * (tests/helpers/app.ts) uses the same private schemas. PostgreSQL tests fail,
 * not skip, when it is down: the message says where it was looked for.
 */
import { afterAll, beforeAll, describe } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createDatabase, type Database } from '../../db/client'
import { createStores, type Stores } from '../../src/stores'

export const PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
export type Dialect = 'sqlite' | 'pg'

/** Why a PostgreSQL set-up failed, naming where it looked. */
export const pgUnreachable = (what: string, failure: Error | undefined) =>
  `${what} could not be built on PostgreSQL at ${PG_URL} (is it running? set TEST_DATABASE_URL): ${failure?.message ?? 'not built yet'}`

/**
 * A schema of its own on the test PostgreSQL: the URL that confines a client to
 * it (search_path), and `drop` to remove it with everything in it.
 * @example
 * const { url, drop } = await privateSchema('t')
 */
export async function privateSchema(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  try {
    await admin.query(`create schema ${schema}`)
  } finally {
    await admin.end()
  }
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL })
      await client.connect()
      try {
        await client.query(`drop schema ${schema} cascade`)
      } finally {
        await client.end()
      }
    },
  }
}

export interface TestDatabase {
  db: Database
  stores: Stores
  close(): Promise<void>
}

/** A migrated database of the dialect, private to the caller. */
async function openTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'council-store-'))
    const db = createDatabase({ url: `file:${dir}/council.db` })
    await db.migrate()
    return {
      db,
      stores: createStores(db),
      async close() {
        await db.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const schema = await privateSchema('s')
  const db = createDatabase({ url: schema.url, poolSize: 4 })
  await db.migrate()
  return {
    db,
    stores: createStores(db),
    async close() {
      await db.close()
      await schema.drop()
    },
  }
}

/**
 * Declares `body` once per dialect, each in its own describe with its own database.
 * @example
 * eachDialect('session store', (use) => { test('…', async () => { const { stores } = use(); … }) })
 */
export function eachDialect(name: string, body: (use: () => TestDatabase, dialect: Dialect) => void): void {
  for (const dialect of ['sqlite', 'pg'] as const)
    describe(`${name} (${dialect === 'pg' ? 'PostgreSQL' : 'libsql'})`, () => {
      let opened: TestDatabase | undefined
      let failure: Error | undefined
      beforeAll(async () => {
        try {
          opened = await openTestDatabase(dialect)
        } catch (error) {
          failure = error as Error
        }
      })
      afterAll(async () => {
        await opened?.close()
      })
      body(() => {
        if (opened) return opened
        if (dialect === 'pg') throw new Error(pgUnreachable('The test database', failure))
        throw new Error(`The ${dialect} test database could not be opened: ${failure?.message ?? 'not opened yet'}`)
      }, dialect)
    })
}
