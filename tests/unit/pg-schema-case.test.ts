/**
 * A mixed-case schema in the search path (`?options=-c search_path=MySchema`):
 * PostgreSQL folds it to `myschema`, where the tables land, so the migrations
 * table must land there too — not in a quoted "MySchema" of its own. A quoted
 * name keeps its case, for tables and migrations alike.
 */
import { afterAll, expect, test } from 'bun:test'
import pg from 'pg'
import { createDatabase } from '../../db/client'
import { PG_URL } from '../helpers/databases'

const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 8)
const created: string[] = []

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

async function tablesBySchema(): Promise<Map<string, string[]>> {
  const { rows } = await admin((client) =>
    client.query<{ schema: string; table: string }>(
      `select table_schema as schema, table_name as table from information_schema.tables where table_schema = any($1::text[]) order by 1, 2`,
      [created],
    ),
  )
  const bySchema = new Map<string, string[]>()
  for (const row of rows) bySchema.set(row.schema, [...(bySchema.get(row.schema) ?? []), row.table])
  return bySchema
}

async function migrateInto(searchPath: string) {
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${searchPath}`)
  const db = createDatabase({ url: url.toString(), poolSize: 2 })
  try {
    await db.migrate()
    await db.migrate() // a second run finds every migration applied
  } finally {
    await db.close()
  }
}

afterAll(async () => {
  await admin(async (client) => {
    for (const schema of created) await client.query(`drop schema if exists "${schema}" cascade`)
  })
})

test('an unquoted MixedCase schema: the tables and __drizzle_migrations land together in the folded lower-case schema', async () => {
  const name = `MixedCase_${suffix}`
  const folded = name.toLowerCase()
  created.push(folded, name)
  await admin((client) => client.query(`create schema ${name}`))
  await migrateInto(name)
  const bySchema = await tablesBySchema()
  expect(bySchema.has(name)).toBe(false)
  const tables = bySchema.get(folded) ?? []
  expect(tables).toContain('__drizzle_migrations')
  for (const table of ['sessions', 'jobs', 'audit_events', 'documents']) expect(tables).toContain(table)
})

test('a quoted "MixedCase" schema keeps its case for the tables and the migrations table alike', async () => {
  const name = `Quoted_${suffix}`
  created.push(name)
  await admin((client) => client.query(`create schema "${name}"`))
  await migrateInto(`"${name}"`)
  const tables = (await tablesBySchema()).get(name) ?? []
  expect(tables).toContain('__drizzle_migrations')
  expect(tables).toContain('sessions')
})

test('a search path naming a schema that does not exist is refused with a message saying what to do', async () => {
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=missing_${suffix}`)
  const db = createDatabase({ url: url.toString(), poolSize: 1 })
  try {
    await expect(db.migrate()).rejects.toThrow(/names no existing schema; create it first/)
  } finally {
    await db.close()
  }
})
