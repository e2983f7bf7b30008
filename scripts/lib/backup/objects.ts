/**
 * The storage part of a backup, through the storage plugin so both backends
 * work the same way: every object under the app's prefixes is copied into
 * `objects/<key>` (the local backend always; S3 with BACKUP_S3_COPY=true), or,
 * for S3 without copy, listed with size and ETag in `objects.json` (the bucket's
 * own versioning or replication then holds the bytes).
 */
import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createLocalStorage } from '../../../plugins/storage/local'
import { parseStorageKey, STORAGE_PREFIXES, type ObjectStorage } from '../../../plugins/storage'
import { filesUnder } from './archive'

/** Prefixes whose objects are the app's data (`health` holds only the readiness probe's). */
const DATA_PREFIXES = STORAGE_PREFIXES.filter((prefix) => prefix !== 'health')

export interface ListedObject {
  key: string
  size: number
  etag: string | null
  last_modified: string
}

export async function listObjects(storage: ObjectStorage): Promise<ListedObject[]> {
  const out: ListedObject[] = []
  for (const prefix of DATA_PREFIXES)
    for await (const info of storage.list(prefix)) out.push({ key: info.key, size: info.size, etag: info.etag ?? null, last_modified: info.lastModified.toISOString() })
  return out
}

/** Copies (or lists) the objects into the archive directory; returns the manifest's storage entry. */
export async function backupObjects(storage: ObjectStorage, archiveDir: string, copy: boolean) {
  const listed = await listObjects(storage)
  const bytes = listed.reduce((sum, object) => sum + object.size, 0)
  if (!copy) {
    await Bun.write(join(archiveDir, 'objects.json'), JSON.stringify(listed, null, 1))
    return { backend: storage.backend, mode: 'listing' as const, objects: listed.length, bytes }
  }
  for (const object of listed) {
    const target = join(archiveDir, 'objects', object.key)
    mkdirSync(dirname(target), { recursive: true })
    const stored = await storage.get(parseStorageKey(object.key))
    await Bun.write(target, new Response(stored.body))
  }
  return { backend: storage.backend, mode: 'copy' as const, objects: listed.length, bytes }
}

/** The archived objects, as keys and file paths. */
const archived = (archiveDir: string) => filesUnder(join(archiveDir, 'objects')).map((key) => ({ key, path: join(archiveDir, 'objects', key) }))

/**
 * Puts the archived objects back. With `replace`, objects the archive does not
 * hold are deleted first, so storage ends as it was. Listing-mode archives
 * hold no bytes: their objects are only checked for (returned as `missing`).
 */
export async function restoreObjects(storage: ObjectStorage, archiveDir: string, mode: 'copy' | 'listing', replace: boolean): Promise<{ restored: number; missing: string[] }> {
  if (mode === 'listing') {
    const listed = (await Bun.file(join(archiveDir, 'objects.json')).json()) as ListedObject[]
    const missing: string[] = []
    for (const object of listed) {
      const stat = await storage.stat(parseStorageKey(object.key))
      if (!stat || (object.etag && stat.etag && stat.etag !== object.etag)) missing.push(object.key)
    }
    return { restored: 0, missing }
  }
  const files = archived(archiveDir)
  if (replace) {
    const keep = new Set(files.map((file) => file.key))
    for (const object of await listObjects(storage)) if (!keep.has(object.key)) await storage.delete(parseStorageKey(object.key))
  }
  for (const file of files) await storage.put(parseStorageKey(file.key), Bun.file(file.path).stream())
  return { restored: files.length, missing: [] }
}

/**
 * Restores copied objects into a scratch local storage and reads them back:
 * how many there are and their total size, to compare with the manifest.
 */
export async function scratchObjects(archiveDir: string): Promise<{ objects: number; bytes: number }> {
  const root = join(tmpdir(), `council-verify-objects-${crypto.randomUUID()}`)
  const scratch = createLocalStorage({ root })
  try {
    await restoreObjects(scratch, archiveDir, 'copy', false)
    const listed = await listObjects(scratch)
    return { objects: listed.length, bytes: listed.reduce((sum, object) => sum + object.size, 0) }
  } finally {
    await scratch.close()
    rmSync(root, { recursive: true, force: true })
  }
}
