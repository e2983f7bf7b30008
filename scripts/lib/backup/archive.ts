/**
 * The backup archive: one directory per backup under BACKUP_DIR, named by its
 * UTC time (`backup-2030-06-01T12-00-00-000Z`, so names sort by age), written
 * under `.partial-<name>` and renamed when complete (a crash never leaves a
 * half archive that looks whole). `--tar` packs it into `<name>.tar.gz` with
 * the tar CLI (Bun has no tar writer). Inside:
 *
 *   manifest.json           what is in it (Manifest below): sha256 and size of every other file
 *   database/council.db     libsql: a consistent copy (VACUUM INTO)
 *   database/council.pgdump PostgreSQL: pg_dump --format=custom of the app's schema(s)
 *   objects/<key>           storage objects (local backend, or S3 with BACKUP_S3_COPY=true)
 *   objects.json            S3 without copy: every object's key, size and ETag
 *   logs/…                  DATA_DIR/logs as it was
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'

export const FORMAT = 'agent-council-backup/1'
const NAME = /^backup-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z(\.tar\.gz)?$/

interface FileEntry {
  path: string
  bytes: number
  sha256: string
}

export interface Manifest {
  format: typeof FORMAT
  name: string
  created_at: string
  app_version: string
  dialect: 'sqlite' | 'pg'
  database: {
    file: string
    /** PostgreSQL: the schemas dumped (the app's, and drizzle's migrations schema when separate). */
    schemas?: string[]
    server_version?: string
  }
  /** The last migration applied to the database when it was copied. */
  migration: { applied: number; last: string | null }
  /** Rows per table in the copy. */
  tables: Record<string, number>
  storage: { backend: 'local' | 's3'; mode: 'copy' | 'listing'; objects: number; bytes: number }
  files: FileEntry[]
}

export const backupName = (at: Date) => `backup-${at.toISOString().replaceAll(':', '-').replace('.', '-')}`

/** SHA-256 and size of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hasher = new Bun.CryptoHasher('sha256')
  let bytes = 0
  const reader = Bun.file(path).stream().getReader()
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    hasher.update(chunk.value)
    bytes += chunk.value.byteLength
  }
  return { bytes, sha256: hasher.digest('hex') }
}

/** Every regular file under `root`, as paths relative to it, sorted. */
export function filesUnder(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort()
}

/** The archives in `dir`, oldest first (partial ones are not archives). */
export function listArchives(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => NAME.test(name))
    .sort()
    .map((name) => join(dir, name))
}

/** Removes all but the newest `keep` archives; returns the paths removed. */
export function rotate(dir: string, keep: number): string[] {
  const archives = listArchives(dir)
  const doomed = archives.slice(0, Math.max(0, archives.length - keep))
  for (const path of doomed) rmSync(path, { recursive: true, force: true })
  return doomed
}

/** Partial archives a crashed backup left, older than an hour (a running backup's is younger). */
export function removeStalePartials(dir: string, now = Date.now()): void {
  if (!existsSync(dir)) return
  for (const name of readdirSync(dir))
    if (name.startsWith('.partial-') && now - statSync(join(dir, name)).mtimeMs > 3_600_000) rmSync(join(dir, name), { recursive: true, force: true })
}

const run = (cmd: string[], what: string) => {
  const proc = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
  if (proc.exitCode !== 0) throw new Error(`${what} failed (${cmd[0]} exit ${proc.exitCode}): ${proc.stderr.toString().trim()}`)
}

/** Packs an archive directory into `<dir>.tar.gz` beside it and removes the directory. */
export function packTar(archiveDir: string): string {
  const target = `${archiveDir}.tar.gz`
  run(['tar', '-czf', target, '-C', dirname(archiveDir), basename(archiveDir)], 'packing the archive with tar')
  rmSync(archiveDir, { recursive: true, force: true })
  return target
}

/**
 * The archive as a directory: itself, or a `.tar.gz` unpacked into a scratch
 * directory (`cleanup` removes it).
 */
export function openArchive(path: string): { dir: string; cleanup: () => void } {
  if (!existsSync(path)) throw new Error(`no archive at ${path}`)
  if (statSync(path).isDirectory()) return { dir: path, cleanup: () => {} }
  if (!path.endsWith('.tar.gz')) throw new Error(`${path} is neither an archive directory nor a .tar.gz`)
  const scratch = join(tmpdir(), `council-restore-${crypto.randomUUID()}`)
  mkdirSync(scratch, { recursive: true })
  run(['tar', '-xzf', path, '-C', scratch], 'unpacking the archive with tar')
  const inner = join(scratch, basename(path, '.tar.gz'))
  return { dir: inner, cleanup: () => rmSync(scratch, { recursive: true, force: true }) }
}

export async function readManifest(dir: string): Promise<Manifest> {
  const file = Bun.file(join(dir, 'manifest.json'))
  if (!(await file.exists())) throw new Error(`${dir} has no manifest.json: not a backup archive`)
  const manifest = (await file.json()) as Manifest
  if (manifest.format !== FORMAT) throw new Error(`${dir}: unknown archive format ${JSON.stringify(manifest.format)} (expected ${FORMAT})`)
  return manifest
}

/**
 * Every way the files differ from the manifest: a changed hash or size, a file
 * missing, a file the manifest does not list. Empty when they agree.
 */
export async function checkFiles(dir: string, manifest: Manifest): Promise<string[]> {
  const problems: string[] = []
  const listed = new Set(manifest.files.map((file) => file.path))
  for (const file of manifest.files) {
    const path = join(dir, file.path)
    if (!existsSync(path)) {
      problems.push(`${file.path}: missing`)
      continue
    }
    const actual = await hashFile(path)
    if (actual.sha256 !== file.sha256) problems.push(`${file.path}: sha256 is ${actual.sha256}, the manifest says ${file.sha256}`)
    else if (actual.bytes !== file.bytes) problems.push(`${file.path}: ${actual.bytes} bytes, the manifest says ${file.bytes}`)
  }
  for (const path of filesUnder(dir)) if (path !== 'manifest.json' && !listed.has(path)) problems.push(`${path}: not in the manifest`)
  return problems
}
