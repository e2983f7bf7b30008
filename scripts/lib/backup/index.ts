/**
 * `bun run backup`, `bun run verify-backups`, `bun run restore`: the work
 * behind the three commands (scripts/backup.ts, verify-backups.ts, restore.ts),
 * callable from tests. The archive layout is in ./archive.ts.
 */
import { cpSync, existsSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import packageJson from '../../../package.json'
import { createObjectStorage } from '../../../plugins/storage'
import type { Config } from '../../../src/config'
import { backupName, checkFiles, filesUnder, FORMAT, hashFile, listArchives, openArchive, packTar, readManifest, removeStalePartials, rotate, type Manifest } from './archive'
import { currentPgState, restorePg, restoreSqlite, scratchPgState, scratchSqliteState, snapshotPg, snapshotSqlite, sqliteExists, sqlitePath, sqliteState, type DatabaseState } from './database'
import { backupObjects, listObjects, restoreObjects, scratchObjects } from './objects'

const DB_FILE = { sqlite: 'database/council.db', pg: 'database/council.pgdump' } as const

export interface BackupResult {
  path: string
  manifest: Manifest
  /** Archives rotation removed. */
  removed: string[]
}

/**
 * @example
 * const { path } = await createBackup(loadConfig())
 */
export async function createBackup(config: Config, { tar = false, now = new Date() }: { tar?: boolean; now?: Date } = {}): Promise<BackupResult> {
  const dir = config.backup.dir
  mkdirSync(dir, { recursive: true })
  removeStalePartials(dir)
  const name = backupName(now)
  if (existsSync(join(dir, name)) || existsSync(join(dir, `${name}.tar.gz`))) throw new Error(`an archive named ${name} exists already`)
  const partial = join(dir, `.partial-${name}`)
  mkdirSync(join(partial, 'database'), { recursive: true })

  const dialect = config.db.dialect
  const dbFile = DB_FILE[dialect]
  let database: Manifest['database'] = { file: dbFile }
  let state: DatabaseState
  if (dialect === 'sqlite') state = await snapshotSqlite(config.db.url, join(partial, dbFile))
  else {
    const dumped = await snapshotPg(config.db.url, join(partial, dbFile))
    state = dumped
    database = { file: dbFile, schemas: dumped.schemas, server_version: dumped.serverVersion }
  }

  const storage = createObjectStorage(config)
  let objects: Manifest['storage']
  try {
    objects = await backupObjects(storage, partial, storage.backend === 'local' || config.backup.s3Copy)
  } finally {
    await storage.close()
  }
  const logs = join(config.dataDir, 'logs')
  if (existsSync(logs)) cpSync(logs, join(partial, 'logs'), { recursive: true })

  const files = []
  for (const path of filesUnder(partial)) files.push({ path, ...(await hashFile(join(partial, path))) })
  const manifest: Manifest = {
    format: FORMAT,
    name,
    created_at: now.toISOString(),
    app_version: packageJson.version,
    dialect,
    database,
    migration: state.migration,
    tables: state.tables,
    storage: objects,
    files,
  }
  await Bun.write(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 2))
  let path = join(dir, name)
  renameSync(partial, path)
  if (tar) path = packTar(path)
  return { path, manifest, removed: rotate(dir, config.backup.keep) }
}

export interface VerifyResult {
  path: string
  manifest: Manifest
  /** Each way the archive disagrees with its manifest; empty when it verified. */
  problems: string[]
  /** Worth knowing, not a failure (an object of a listing-mode archive no longer in the bucket). */
  warnings: string[]
}

const compareTables = (expected: Record<string, number>, actual: Record<string, number>): string[] =>
  [...new Set([...Object.keys(expected), ...Object.keys(actual)])]
    .sort()
    .filter((table) => expected[table] !== actual[table])
    .map((table) => `table ${table}: ${actual[table] ?? 'missing'} rows restored, the manifest says ${expected[table] ?? 'no such table'}`)

/**
 * Restores an archive (the newest in BACKUP_DIR when none is named) into a
 * scratch database and scratch directory, and checks every file's hash, every
 * table's row count, the migration state and the objects against its manifest.
 */
export async function verifyBackup(config: Config, archive?: string): Promise<VerifyResult> {
  const path = archive ?? listArchives(config.backup.dir).at(-1)
  if (!path) throw new Error(`no backup to verify in ${config.backup.dir} (BACKUP_DIR); run bun run backup first`)
  const { dir, cleanup } = openArchive(path)
  try {
    const manifest = await readManifest(dir)
    const problems = await checkFiles(dir, manifest)
    const warnings: string[] = []
    const dump = join(dir, manifest.database.file)
    let state: DatabaseState | null = null
    try {
      if (manifest.dialect === 'sqlite') state = await scratchSqliteState(dump)
      else if (config.db.dialect !== 'pg') problems.push('the archive is of PostgreSQL: verify it with DATABASE_URL pointing at a PostgreSQL server (a scratch database is created there)')
      else state = await scratchPgState(config.db.url, dump, manifest.database.schemas ?? [])
    } catch (error) {
      problems.push(`the database did not restore: ${(error as Error).message}`)
    }
    if (state) {
      problems.push(...compareTables(manifest.tables, state.tables))
      if (JSON.stringify(state.migration) !== JSON.stringify(manifest.migration))
        problems.push(`migration state ${JSON.stringify(state.migration)} restored, the manifest says ${JSON.stringify(manifest.migration)}`)
    }
    if (manifest.storage.mode === 'copy') {
      const restored = await scratchObjects(dir)
      if (restored.objects !== manifest.storage.objects || restored.bytes !== manifest.storage.bytes)
        problems.push(`${restored.objects} objects (${restored.bytes} bytes) restored, the manifest says ${manifest.storage.objects} (${manifest.storage.bytes} bytes)`)
    } else if (config.storage.backend === manifest.storage.backend) {
      const storage = createObjectStorage(config)
      try {
        const { missing } = await restoreObjects(storage, dir, 'listing', false)
        if (missing.length > 0) warnings.push(`${missing.length} listed object(s) are no longer in the bucket as listed (erased or purged since?), e.g. ${missing[0]}`)
      } finally {
        await storage.close()
      }
    }
    return { path, manifest, problems, warnings }
  } finally {
    cleanup()
  }
}

export class RestoreRefused extends Error {
  override name = 'RestoreRefused'
}

export interface RestoreResult {
  path: string
  /** What happens (or, with dryRun, would happen), one line per step. */
  plan: string[]
  applied: boolean
}

const total = (tables: Record<string, number>) => Object.values(tables).reduce((sum, n) => sum + n, 0)

/**
 * Puts an archive back: the database (replaced), the storage objects (put back;
 * with `force`, objects the archive lacks are deleted), the logs (beside the
 * current ones, in DATA_DIR/logs/restored-<name>). Refuses a damaged archive,
 * one of the other dialect, and — without `force` — a target that holds any
 * row or object. The app must be stopped while it runs.
 */
export async function restoreBackup(config: Config, archive: string, { dryRun = false, force = false } = {}): Promise<RestoreResult> {
  const { dir, cleanup } = openArchive(archive)
  try {
    const manifest = await readManifest(dir)
    const damaged = await checkFiles(dir, manifest)
    if (damaged.length > 0) throw new RestoreRefused(`the archive is damaged; nothing was restored:\n  ${damaged.join('\n  ')}`)
    if (manifest.dialect !== config.db.dialect)
      throw new RestoreRefused(`the archive is of ${manifest.dialect} but DATABASE_URL is ${config.db.dialect}; restore into a database of the same kind`)

    const target = config.db.dialect === 'sqlite' ? (sqliteExists(config.db.url) ? await sqliteState(sqlitePath(config.db.url)) : null) : await currentPgState(config.db.url)
    const storage = createObjectStorage(config)
    try {
      const present = await listObjects(storage)
      const rows = target ? total(target.tables) : 0
      const where = config.db.dialect === 'sqlite' ? sqlitePath(config.db.url) : `schema(s) ${(manifest.database.schemas ?? []).join(', ')}`
      const plan = [
        `database: replace ${where} (now ${rows} rows) with the archive's ${total(manifest.tables)} rows in ${Object.keys(manifest.tables).length} tables (migration ${manifest.migration.last})`,
        manifest.storage.mode === 'copy'
          ? `storage (${storage.backend}): put back ${manifest.storage.objects} objects${force ? `, deleting the ones the archive lacks (${present.length} present now)` : ''}`
          : `storage (${storage.backend}): the archive lists ${manifest.storage.objects} objects without their bytes; check they are still in the bucket`,
        `logs: copy into ${join(config.dataDir, 'logs', `restored-${manifest.name}`)}`,
      ]
      if (dryRun) return { path: archive, plan, applied: false }
      if ((rows > 0 || present.length > 0) && !force)
        throw new RestoreRefused(`the target is not empty (${rows} rows in the database, ${present.length} objects in storage); pass --force to replace it`)

      if (manifest.dialect === 'sqlite') restoreSqlite(config.db.url, join(dir, manifest.database.file))
      else await restorePg(config.db.url, join(dir, manifest.database.file), manifest.database.schemas ?? [])
      const objects = await restoreObjects(storage, dir, manifest.storage.mode, force)
      if (objects.missing.length > 0) plan.push(`storage: ${objects.missing.length} listed object(s) are not in the bucket, e.g. ${objects.missing[0]}`)
      if (existsSync(join(dir, 'logs'))) cpSync(join(dir, 'logs'), join(config.dataDir, 'logs', `restored-${manifest.name}`), { recursive: true })

      const after = config.db.dialect === 'sqlite' ? await sqliteState(sqlitePath(config.db.url)) : await currentPgState(config.db.url)
      const mismatch = compareTables(manifest.tables, after.tables)
      if (mismatch.length > 0) throw new Error(`restored, but the database disagrees with the manifest:\n  ${mismatch.join('\n  ')}`)
      return { path: archive, plan, applied: true }
    } finally {
      await storage.close()
    }
  } finally {
    cleanup()
  }
}
