/**
 * The storage plugin: object bytes (uploaded documents, extracted text) behind
 * one interface (types.ts), with the backend chosen by STORAGE_BACKEND — a
 * directory under DATA_DIR (local.ts) or an S3-compatible bucket (s3.ts). Keys
 * are opaque and made only by keys.ts. Routes reach it as `storage` after
 * `.use(storage({ storage }))`; /readyz probes it with a real put/stat/delete.
 */
import { Elysia } from 'elysia'
import type { Config } from '../../src/config'
import type { ComponentCheck } from '../health'
import { newStorageKey } from './keys'
import { createLocalStorage } from './local'
import { createS3Storage } from './s3'
import type { ObjectStorage } from './types'

export * from './keys'
export * from './types'

/**
 * @example
 * const storage = createObjectStorage(config)
 */
export function createObjectStorage(config: Config): ObjectStorage {
  const { storage } = config
  if (storage.backend === 'local') return createLocalStorage({ root: storage.localDir })
  const { endpoint, bucket } = storage.s3
  // loadConfig refuses s3 without these; a hand-built Config must not get past here either.
  if (!endpoint || !bucket) throw new Error('storage: STORAGE_BACKEND=s3 needs S3_ENDPOINT and S3_BUCKET')
  return createS3Storage({ ...storage.s3, endpoint, bucket })
}

/**
 * Writes, reads back and deletes a small object under health/, as an upload
 * would: proves the backend is reachable, the credentials can write and the
 * disk is not full or read-only.
 */
export async function probeStorage(storage: ObjectStorage): Promise<Record<string, unknown>> {
  const key = newStorageKey('health')
  const body = `readyz ${new Date().toISOString()}`
  try {
    const { bytes } = await storage.put(key, body, { contentType: 'text/plain' })
    const stat = await storage.stat(key)
    if (stat?.size !== bytes) throw new Error(`the probe object reads back as ${stat ? `${stat.size} bytes` : 'missing'}, not ${bytes}`)
  } catch (error) {
    await storage.delete(key).catch(() => {})
    throw error
  }
  await storage.delete(key)
  return { backend: storage.backend }
}

/**
 * /readyz: `storage` is required — with it down no upload or extraction can
 * work, and a document the app promised to keep could not be written.
 */
export function storageReadiness(storage: ObjectStorage): Record<string, ComponentCheck> {
  return { storage: { required: true, check: () => probeStorage(storage) } }
}

/**
 * Decorates the app with `storage`; the plugin adds nothing else, so the
 * routes that use it (uploads, downloads) say so by `.use()`-ing it.
 * @example
 * app.use(storage({ storage: deps.storage })).get('/x', ({ storage }) => storage.stat(key))
 */
export const storage = ({ storage: backend }: { storage: ObjectStorage }) =>
  new Elysia({ name: 'plugin/storage', seed: backend.backend }).decorate('storage', backend)
