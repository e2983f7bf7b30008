/**
 * The database part of a backup, per dialect. Counting here reads whatever
 * tables the copy holds (not the current code's schema), so an archive made by
 * an older release still verifies.
 *
 * - libsql: `VACUUM INTO` a new file through the libsql client — one read
 *   transaction, so a consistent copy while the app writes; counts come from the copy.
 * - PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the row counts
 *   are read in it and `pg_dump --format=custom --snapshot=…` dumps exactly that
 *   state, so counts and dump agree while the app writes. Restores go through
 *   `pg_restore` into schemas emptied first; verification restores into a scratch
 *   database (CREATE DATABASE on the same server) and drops it after.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { createClient } from '@libsql/client'
import journalSqlite from '../../../db/migrations/sqlite/meta/_journal.json'
import journalPg from '../../../db/migrations/pg/meta/_journal.json'

export interface DatabaseState {
  tables: Record<string, number>
  migration: { applied: number; last: string | null }
}

const MIGRATIONS = '__drizzle_migrations'
const tagOf = (dialect: 'sqlite' | 'pg', when: number | null) =>
  when === null ? null : ((dialect === 'pg' ? journalPg : journalSqlite).entries.find((entry) => entry.when === when)?.tag ?? `unknown migration of ${when}`)

// ── libsql ───────────────────────────────────────────────────────────────────

export const sqlitePath = (url: string) => {
  if (!url.startsWith('file:')) throw new Error(`the embedded database must be a file: URL to be backed up (got ${url})`)
  return url.slice('file:'.length)
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`
const ident = (text: string) => `"${text.replaceAll('"', '""')}"`

/** Rows per table and the migration state of a libsql file. */
export async function sqliteState(path: string): Promise<DatabaseState> {
  const client = createClient({ url: `file:${path}` })
  try {
    const names = (await client.execute(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name != '${MIGRATIONS}' order by name`)).rows.map((row) => String(row.name))
    const tables: Record<string, number> = {}
    for (const name of names) tables[name] = Number((await client.execute(`select count(*) as n from ${ident(name)}`)).rows[0]!.n)
    const hasMigrations = (await client.execute(`select 1 from sqlite_master where name = '${MIGRATIONS}'`)).rows.length > 0
    if (!hasMigrations) return { tables, migration: { applied: 0, last: null } }
    const row = (await client.execute(`select count(*) as n, max(created_at) as last from ${MIGRATIONS}`)).rows[0]!
    return { tables, migration: { applied: Number(row.n), last: tagOf('sqlite', row.last === null ? null : Number(row.last)) } }
  } finally {
    client.close()
  }
}

/** A consistent copy of the live libsql file at `target` (which must not exist). */
export async function snapshotSqlite(url: string, target: string): Promise<DatabaseState> {
  const client = createClient({ url })
  try {
    await client.execute('PRAGMA busy_timeout = 5000')
    await client.execute(`VACUUM INTO ${quote(target)}`)
  } finally {
    client.close()
  }
  return sqliteState(target)
}

/** Replaces the live libsql file by the archived one (the app must be stopped). */
export function restoreSqlite(url: string, archived: string): void {
  const path = sqlitePath(url)
  mkdirSync(dirname(path), { recursive: true })
  const incoming = `${path}.restoring-${crypto.randomUUID().slice(0, 8)}`
  copyFileSync(archived, incoming)
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true })
  renameSync(incoming, path)
}

// ── PostgreSQL ───────────────────────────────────────────────────────────────

/** The schema a `?options=-c search_path=X` URL confines the app to, and the URL without it (for the pg tools). */
function pgTarget(url: string): { schemas: string[]; toolUrl: string; migrationsSchema: string } {
  const parsed = new URL(url)
  const options = parsed.searchParams.get('options') ?? ''
  const schema = /search_path=([A-Za-z0-9_]+)/.exec(options)?.[1] ?? null
  parsed.searchParams.delete('options')
  // db/client.ts keeps drizzle's migrations table in the app's schema when confined, else in "drizzle".
  return schema ? { schemas: [schema], toolUrl: parsed.toString(), migrationsSchema: schema } : { schemas: ['public', 'drizzle'], toolUrl: parsed.toString(), migrationsSchema: 'drizzle' }
}

async function pgState(client: pg.Client, schemas: string[], migrationsSchema: string): Promise<DatabaseState> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `select table_schema as schema, table_name as name from information_schema.tables
      where table_schema = any($1) and table_type = 'BASE TABLE' and table_name != $2 order by table_name`,
    [schemas, MIGRATIONS],
  )
  const tables: Record<string, number> = {}
  for (const row of rows) tables[row.name] = Number((await client.query(`select count(*) as n from ${ident(row.schema)}.${ident(row.name)}`)).rows[0].n)
  const exists = await client.query(`select 1 from information_schema.tables where table_schema = $1 and table_name = $2`, [migrationsSchema, MIGRATIONS])
  if (exists.rowCount === 0) return { tables, migration: { applied: 0, last: null } }
  const state = (await client.query(`select count(*) as n, max(created_at) as last from ${ident(migrationsSchema)}.${MIGRATIONS}`)).rows[0]
  return { tables, migration: { applied: Number(state.n), last: tagOf('pg', state.last === null ? null : Number(state.last)) } }
}

const majorOf = (version: string) => Number(/(\d+)/.exec(version)?.[1] ?? 0)

function runTool(cmd: string[], what: string): string {
  const proc = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
  if (proc.exitCode !== 0) throw new Error(`${what} failed (${cmd[0]} exit ${proc.exitCode}): ${proc.stderr.toString().trim()}`)
  return proc.stdout.toString()
}

/** pg_dump must be at least the server's major version, or it refuses (or worse, misses objects). */
function checkToolVersion(serverVersion: string): void {
  const tool = runTool(['pg_dump', '--version'], 'pg_dump --version')
  if (majorOf(tool.replace(/^\D+/, '')) < majorOf(serverVersion))
    throw new Error(`pg_dump is ${tool.trim()} but the server is ${serverVersion}: install the PostgreSQL client of the server's major version (or newer)`)
}

/** Dumps the app's schema(s) to `target` and counts their rows, both from one snapshot. */
export async function snapshotPg(url: string, target: string): Promise<DatabaseState & { schemas: string[]; serverVersion: string }> {
  const { schemas, toolUrl, migrationsSchema } = pgTarget(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const serverVersion = String((await client.query('show server_version')).rows[0].server_version)
    checkToolVersion(serverVersion)
    await client.query('begin isolation level repeatable read read only')
    const snapshot = String((await client.query('select pg_export_snapshot() as id')).rows[0].id)
    const state = await pgState(client, schemas, migrationsSchema)
    const proc = Bun.spawn(
      ['pg_dump', '--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`, `--file=${target}`, ...schemas.map((s) => `--schema=${s}`), toolUrl],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
    if (code !== 0) throw new Error(`pg_dump failed (exit ${code}): ${stderr.trim()}`)
    await client.query('commit')
    return { ...state, schemas, serverVersion }
  } finally {
    await client.end()
  }
}

/** Restores a dump into the database at `url`: its schemas are dropped, recreated empty, then filled. */
async function restorePgInto(url: string, schemas: string[], dump: string): Promise<void> {
  const { toolUrl } = pgTarget(url)
  const client = new pg.Client({ connectionString: toolUrl })
  await client.connect()
  try {
    for (const schema of schemas) await client.query(`drop schema if exists ${ident(schema)} cascade; create schema ${ident(schema)}`)
  } finally {
    await client.end()
  }
  // The schemas exist now (`public` always does): restore everything but their creation.
  const list = runTool(['pg_restore', '--list', dump], 'reading the dump')
    .split('\n')
    .filter((line) => !/^\d+; \d+ \d+ (SCHEMA - |COMMENT - SCHEMA )/.test(line))
    .join('\n')
  const listFile = join(tmpdir(), `council-restore-${crypto.randomUUID()}.list`)
  await Bun.write(listFile, list)
  try {
    runTool(['pg_restore', '--no-owner', '--no-privileges', '--exit-on-error', `--use-list=${listFile}`, `--dbname=${toolUrl}`, dump], 'pg_restore')
  } finally {
    rmSync(listFile, { force: true })
  }
}

/** Replaces the app's schema(s) in the configured database by the archived dump (the app must be stopped). */
export async function restorePg(url: string, dump: string, archived: string[]): Promise<void> {
  const { schemas } = pgTarget(url)
  if (schemas.join(',') !== archived.join(','))
    throw new Error(`the archive holds schema(s) ${archived.join(', ')} but DATABASE_URL points at ${schemas.join(', ')}: restore with a DATABASE_URL whose search_path names the archived schema`)
  await restorePgInto(url, schemas, dump)
}

/** Rows per table and migration state of the app's schema(s) in the configured database now. */
export async function currentPgState(url: string): Promise<DatabaseState> {
  const { schemas, migrationsSchema } = pgTarget(url)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await pgState(client, schemas, migrationsSchema)
  } finally {
    await client.end()
  }
}

/**
 * Restores a dump into a scratch database on the same server, reads its state,
 * and drops it. Needs CREATEDB for the configured role.
 */
export async function scratchPgState(url: string, dump: string, schemas: string[]): Promise<DatabaseState> {
  const { toolUrl } = pgTarget(url)
  const scratchName = `council_verify_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  const admin = new pg.Client({ connectionString: toolUrl })
  await admin.connect()
  try {
    try {
      await admin.query(`create database ${ident(scratchName)}`)
    } catch (error) {
      throw new Error(`verify restores PostgreSQL archives into a scratch database and could not create one (${(error as Error).message}); grant CREATEDB to the backup role`)
    }
    const scratch = new URL(toolUrl)
    scratch.pathname = `/${scratchName}`
    await restorePgInto(scratch.toString(), schemas, dump)
    const client = new pg.Client({ connectionString: scratch.toString() })
    await client.connect()
    try {
      return await pgState(client, schemas, schemas.length === 1 ? schemas[0]! : 'drizzle')
    } finally {
      await client.end()
    }
  } finally {
    await admin.query(`drop database if exists ${ident(scratchName)} with (force)`).catch(() => undefined)
    await admin.end()
  }
}

/** A scratch copy of an archived libsql file, its state, then gone. */
export async function scratchSqliteState(archived: string): Promise<DatabaseState> {
  const dir = join(tmpdir(), `council-verify-${crypto.randomUUID()}`)
  mkdirSync(dir, { recursive: true })
  try {
    const copy = join(dir, 'council.db')
    copyFileSync(archived, copy)
    return await sqliteState(copy)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const sqliteExists = (url: string) => existsSync(sqlitePath(url))
