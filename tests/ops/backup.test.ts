/**
 * Backups (SPEC §6, issue 13 item 1) on libsql and PostgreSQL: backup → change
 * everything → restore gives back every row of every table, every object and
 * the logs; verify restores into scratch places and fails, naming the file, on
 * a tampered archive; restore refuses a non-empty target without --force and
 * changes nothing on --dry-run; rotation keeps exactly BACKUP_KEEP. The
 * commands themselves run as processes, as an operator runs them.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createDeps, prepare, type AppDeps } from '../../src/app'
import { testConfig, type Config } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'
import { parseStorageKey } from '../../plugins/storage'
import { createBackup, restoreBackup, RestoreRefused, verifyBackup } from '../../scripts/lib/backup'
import { listArchives } from '../../scripts/lib/backup/archive'
import { allObjects, allRows, putDocumentObjects, seedEveryTable } from '../helpers/data-walk'

const PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
const ROOT = join(import.meta.dir, '..', '..')

interface Install {
  env: Record<string, string>
  config: Config
  deps: AppDeps
  /** Closes and opens the app's connections again (a restore replaces the database under them). */
  reopen(): Promise<void>
  close(): Promise<void>
}

const opened: Install[] = []
afterAll(async () => {
  for (const install of opened) await install.close()
})

async function install(dialect: 'sqlite' | 'pg', extra: Record<string, string> = {}): Promise<Install> {
  const dataDir = mkdtempSync(join(tmpdir(), 'council-backup-'))
  let url = `file:${dataDir}/council.db`
  let schema: string | null = null
  if (dialect === 'pg') {
    schema = `b_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    await admin.end()
    const parsed = new URL(PG_URL)
    parsed.searchParams.set('options', `-c search_path=${schema}`)
    url = parsed.toString()
  }
  const env = { APP_ENV: 'test', DATA_DIR: dataDir, DATABASE_URL: url, BACKUP_KEEP: '3', ...extra }
  const config = testConfig(env)
  const open = () => createDeps(config, { logger: createLogger({ level: 'error', sink: () => {} }) })
  const self: Install = {
    env,
    config,
    deps: open(),
    async reopen() {
      await self.deps.close()
      self.deps = open()
    },
    async close() {
      await self.deps.close().catch(() => undefined)
      if (schema) {
        const client = new pg.Client({ connectionString: PG_URL })
        await client.connect()
        await client.query(`drop schema if exists ${schema} cascade`)
        await client.end()
      }
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  await prepare(self.deps)
  opened.push(self)
  return self
}

/** Runs one of the package scripts as an operator would, with the install's environment. */
function command(app: Install, script: string, ...args: string[]) {
  const proc = Bun.spawnSync(['bun', 'run', '--silent', script, ...args], { cwd: ROOT, env: { ...process.env, ...app.env, TEST_DATABASE_URL: '' }, stdout: 'pipe', stderr: 'pipe' })
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() }
}

/** Some of everything: rows in every table that can point at a person, session or job, objects, a log file. */
async function fill(app: Install, label: string) {
  const { deps } = app
  const userId = Bun.randomUUIDv7()
  await deps.stores.identity.insertUser({ id: userId, externalId: `${label}@example.com`, email: `${label}@example.com`, displayName: null, createdAt: new Date(), lastSeenAt: null, deletedAt: null })
  const sessionId = Bun.randomUUIDv7()
  await deps.stores.sessions.insert({ id: sessionId, userId, question: `Question of ${label} — «unicode» 'quotes'`, paletteId: 'default', status: 'created', stage: null, partial: false, tokensIn: 0, tokensOut: 0, costMicroUsd: 0, error: null, webSearch: false, createdAt: new Date(), updatedAt: new Date(), deletedAt: null })
  const seeded = await seedEveryTable(deps, { users: userId, sessions: sessionId, palettes: 'default' }, label)
  await putDocumentObjects(deps.storage, `${label}-loose`)
  mkdirSync(join(app.config.dataDir, 'logs'), { recursive: true })
  appendFileSync(join(app.config.dataDir, 'logs', 'app.log'), `{"msg":"a line of ${label}"}\n`)
  return { userId, sessionId, seeded }
}

/** Every object's key and bytes. */
async function objectContents(deps: AppDeps): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const key of await allObjects(deps.storage)) out[key] = await new Response((await deps.storage.get(parseStorageKey(key))).body).text()
  return out
}

for (const dialect of ['sqlite', 'pg'] as const)
  describe(`backups (${dialect === 'pg' ? 'PostgreSQL' : 'libsql'})`, () => {
    test('backup → change everything → restore: every table, object and log line as it was', async () => {
      const app = await install(dialect)
      await fill(app, 'first')
      const rows = await allRows(app.deps)
      const objects = await objectContents(app.deps)
      const { path, manifest } = await createBackup(app.config)
      expect(manifest.dialect).toBe(dialect)
      expect(manifest.tables.sessions).toBe(rows.sessions!.length)
      expect(manifest.migration.last).toMatch(/^\d{4}_/)
      expect(manifest.storage).toMatchObject({ backend: 'local', mode: 'copy', objects: Object.keys(objects).length })
      expect(manifest.files.map((file) => file.path)).toContain('logs/app.log')
      expect((await verifyBackup(app.config)).problems).toEqual([])

      // Change: more rows, fewer rows, other objects, more log.
      await fill(app, 'second')
      await app.deps.stores.data.remove('sessions', [rows.sessions![0]!.id as string])
      await app.deps.storage.delete(parseStorageKey(Object.keys(objects)[0]!))
      expect(await allRows(app.deps)).not.toEqual(rows)

      await expect(restoreBackup(app.config, path)).rejects.toThrow(RestoreRefused)
      await expect(restoreBackup(app.config, path)).rejects.toThrow('pass --force')
      const dry = await restoreBackup(app.config, path, { dryRun: true })
      expect(dry.applied).toBe(false)
      expect(dry.plan.join('\n')).toContain('database: replace')
      expect(await allRows(app.deps)).not.toEqual(rows)

      await app.deps.close()
      const done = await restoreBackup(app.config, path, { force: true })
      expect(done.applied).toBe(true)
      app.deps = createDeps(app.config, { logger: createLogger({ level: 'error', sink: () => {} }) })
      expect(await allRows(app.deps)).toEqual(rows)
      expect(await objectContents(app.deps)).toEqual(objects)
      const restoredLog = join(app.config.dataDir, 'logs', `restored-${manifest.name}`, 'app.log')
      expect(await Bun.file(restoredLog).text()).toBe('{"msg":"a line of first"}\n')
      // The restored install works: it migrates (nothing to do) and serves its data.
      await prepare(app.deps)
      expect((await app.deps.stores.data.count()).sessions).toBe(rows.sessions!.length)
    }, 60_000)

    test('the commands: verify exits 1 naming a tampered file; restore refuses a non-empty target, dry-runs, and restores a .tar.gz', async () => {
      const app = await install(dialect)
      await fill(app, 'cli')
      const made = command(app, 'backup', '--', '--tar')
      expect(made.err).toBe('')
      expect(made.code).toBe(0)
      expect(made.out).toContain('.tar.gz')
      const ok = command(app, 'verify-backups')
      expect(ok.code).toBe(0)
      expect(ok.out).toContain(' OK: ')

      const plain = command(app, 'backup')
      expect(plain.code).toBe(0)
      const archive = listArchives(app.config.backup.dir).at(-1)!
      const object = readdirSync(join(archive, 'objects', 'documents'))[0]!
      writeFileSync(join(archive, 'objects', 'documents', object), 'tampered')
      const bad = command(app, 'verify-backups')
      expect(bad.code).toBe(1)
      expect(bad.err).toContain(`objects/documents/${object}: sha256 is`)
      const refusedDamaged = command(app, 'restore', '--', archive, '--force')
      expect(refusedDamaged.code).toBe(1)
      expect(refusedDamaged.err).toContain('the archive is damaged')

      const tarball = listArchives(app.config.backup.dir).find((path) => path.endsWith('.tar.gz'))!
      const refused = command(app, 'restore', '--', tarball)
      expect(refused.code).toBe(1)
      expect(refused.err).toContain('the target is not empty')
      const dry = command(app, 'restore', '--', tarball, '--dry-run')
      expect(dry.code).toBe(0)
      expect(dry.out).toContain('nothing was changed')
      const before = await allRows(app.deps)
      await app.deps.close()
      const restored = command(app, 'restore', '--', tarball, '--force')
      expect(restored.err).toBe('')
      expect(restored.code).toBe(0)
      app.deps = createDeps(app.config, { logger: createLogger({ level: 'error', sink: () => {} }) })
      expect(await allRows(app.deps)).toEqual(before)
      expect(command(app, 'restore').code).toBe(2)
    }, 90_000)

    test('verify fails when a table’s rows disagree with the manifest', async () => {
      const app = await install(dialect)
      await fill(app, 'count')
      const { path, manifest } = await createBackup(app.config)
      const changed = { ...manifest, tables: { ...manifest.tables, sessions: manifest.tables.sessions! + 1 } }
      await Bun.write(join(path, 'manifest.json'), JSON.stringify(changed))
      const { problems } = await verifyBackup(app.config, path)
      expect(problems).toEqual([`table sessions: ${manifest.tables.sessions} rows restored, the manifest says ${manifest.tables.sessions! + 1}`])
    }, 30_000)
  })

describe('rotation', () => {
  test('keeps exactly BACKUP_KEEP, the newest, of directories and tarballs alike', async () => {
    const app = await install('sqlite', { BACKUP_KEEP: '3' })
    const start = Date.parse('2030-01-01T00:00:00Z')
    const made: string[] = []
    for (let i = 0; i < 6; i++) made.push((await createBackup(app.config, { now: new Date(start + i * 60_000), tar: i % 2 === 1 })).path)
    expect(listArchives(app.config.backup.dir)).toEqual(made.slice(-3))
    for (const gone of made.slice(0, 3)) expect(existsSync(gone)).toBe(false)
    // Whatever else lives in BACKUP_DIR is left alone.
    writeFileSync(join(app.config.backup.dir, 'notes.txt'), 'mine')
    await createBackup(app.config, { now: new Date(start + 10 * 60_000) })
    expect(listArchives(app.config.backup.dir)).toHaveLength(3)
    expect(existsSync(join(app.config.backup.dir, 'notes.txt'))).toBe(true)
  }, 30_000)
})
