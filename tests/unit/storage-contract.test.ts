/**
 * The storage backends' one contract (plugins/storage/types.ts), run against
 * every backend: local (a temporary DATA_DIR/objects) and S3 — a real
 * S3-compatible server (s3rver, tests/helpers/s3.ts) started here in its own
 * process, spoken to over HTTP with signed requests. It fails, not skips, when
 * that server cannot start.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  childKey,
  InvalidStorageKeyError,
  newStorageKey,
  ObjectNotFoundError,
  ObjectTooLargeError,
  RangeNotSatisfiableError,
  STORAGE_PREFIXES,
  type ObjectStorage,
  type StorageKey,
  type StorageListPrefix,
} from '../../plugins/storage'
import { createLocalStorage } from '../../plugins/storage/local'
import { createS3Storage } from '../../plugins/storage/s3'
import { startS3Server, type S3TestServer } from '../helpers/s3'
import { digestStream, MiB, patternStream, readAll, rejectionOf, sha256Of } from '../helpers/storage'

/** Every byte value, twice, in a scrambled order: catches text decoding or newline mangling. */
const BINARY = Uint8Array.from({ length: 512 }, (_, i) => (i * 167 + 13) % 256)

/** Keys a forced cast could smuggle in; each must be refused by every operation of every backend. */
const TRAVERSAL_KEYS = [
  '../x',
  '../../etc/passwd',
  '/etc/passwd',
  'documents/../../etc/passwd',
  'documents/../health/00000000-0000-4000-8000-000000000000',
  'documents/%2e%2e/%2e%2e/etc/passwd',
  'documents/%2E%2E%2Fx',
  'documents\\..\\..\\x',
  'documents/0190a6b2-0000-7000-8000-000000000000\0.pdf',
  'documents/0190a6b2-0000-7000-8000-000000000000/..',
  'documents/0190a6b2-0000-7000-8000-000000000000/../../x',
  'documents/0190a6b2-0000-7000-8000-000000000000/.',
  'documents//0190a6b2-0000-7000-8000-000000000000',
  './documents/0190a6b2-0000-7000-8000-000000000000',
  'DOCUMENTS/0190a6b2-0000-7000-8000-000000000000',
  'documents/0190a6b2-0000-7000-8000-000000000000/',
  'documents/report.pdf',
  'documents',
  '',
]

/** The value once it is empty, or the last one after 3 s: a backend may clean up just after the put has failed. */
async function settled(read: () => string[]): Promise<string[]> {
  const deadline = Date.now() + 3000
  for (;;) {
    const value = read()
    if (value.length === 0 || Date.now() > deadline) return value
    await Bun.sleep(50)
  }
}

/** Bun's S3 client adds `;charset=utf-8` to some text types (application/json, text/plain); the media type is what is kept. */
const mediaType = (contentType: string) => contentType.split(';')[0]!.trim()

async function keysUnder(storage: ObjectStorage, prefix: StorageListPrefix): Promise<string[]> {
  const keys: string[] = []
  for await (const object of storage.list(prefix)) keys.push(object.key)
  return keys
}

interface Backend {
  storage: ObjectStorage
  /** A second handle on the same objects with tiny list pages, to exercise pagination. */
  paged: ObjectStorage
  /** What failed puts left behind: local, files in .tmp; S3, multipart uploads not aborted. */
  leftovers(): string[]
  cleanup(): Promise<void>
}

function storageContract(name: string, open: () => Promise<Backend>) {
  describe(`${name} storage`, () => {
    let backend: Backend
    let storage: ObjectStorage
    beforeAll(async () => {
      backend = await open()
      storage = backend.storage
    })
    afterAll(() => backend?.cleanup())

    test('put then get returns the same bytes, size, content type and SHA-256', async () => {
      const key = newStorageKey('documents')
      const put = await storage.put(key, new Blob([BINARY]).stream(), { contentType: 'application/pdf' })
      expect(put).toEqual({ key, bytes: BINARY.byteLength, sha256: sha256Of(BINARY) })
      const object = await storage.get(key)
      expect(object.size).toBe(BINARY.byteLength)
      expect(object.length).toBe(BINARY.byteLength)
      expect(object.contentType).toBe('application/pdf')
      expect(object.range).toBeUndefined()
      expect(await readAll(object.body)).toEqual(BINARY)
    })

    test('bodies in memory: bytes and a UTF-8 string', async () => {
      const bytesKey = newStorageKey('extracted')
      expect((await storage.put(bytesKey, BINARY)).sha256).toBe(sha256Of(BINARY))
      expect(await readAll((await storage.get(bytesKey)).body)).toEqual(BINARY)
      expect((await storage.get(bytesKey)).contentType).toBe('application/octet-stream')

      const textKey = newStorageKey('extracted')
      const text = 'Grüße — page 1\nzweite Zeile ✓'
      const put = await storage.put(textKey, text, { contentType: 'text/plain; charset=utf-8' })
      expect(put.bytes).toBe(new TextEncoder().encode(text).byteLength)
      expect(await new Response((await storage.get(textKey)).body).text()).toBe(text)
    })

    test('empty objects, streamed and from bytes', async () => {
      for (const body of [new ReadableStream<Uint8Array>({ start: (c) => c.close() }), new Uint8Array(0)]) {
        const key = newStorageKey('documents')
        expect(await storage.put(key, body)).toEqual({ key, bytes: 0, sha256: sha256Of(new Uint8Array(0)) })
        expect((await storage.stat(key))?.size).toBe(0)
        const object = await storage.get(key)
        expect(object.size).toBe(0)
        expect((await readAll(object.body)).byteLength).toBe(0)
      }
    })

    test('25 MiB streamed in and out, chunk by chunk', async () => {
      const key = newStorageKey('documents')
      const size = 25 * MiB
      const expected = await digestStream(patternStream(size, { seed: 7 }))
      const put = await storage.put(key, patternStream(size, { seed: 7 }), { contentType: 'application/pdf' })
      expect(put).toEqual({ key, ...expected })
      const object = await storage.get(key)
      expect(object.size).toBe(size)
      expect(await digestStream(object.body)).toEqual(expected)
    }, 60_000)

    test('chunks handed over (releaseChunks): exact bytes and SHA-256 for chunks of every size, two puts at once unmixed', async () => {
      // Local storage writes each chunk, then moves it to the hashing worker (plugins/storage/hasher.ts).
      const cases = [
        { size: 3 * MiB + 17, chunkBytes: 1000, seed: 3 }, // below Buffer.poolSize: copied, not moved
        { size: 9 * MiB + 5, chunkBytes: 100_003, seed: 4 },
        { size: 7 * MiB, chunkBytes: 300_000, seed: 5 },
      ]
      const results = await Promise.all(
        cases.map(async ({ size, chunkBytes, seed }) => {
          const key = newStorageKey('documents')
          const expected = await digestStream(patternStream(size, { chunkBytes, seed }))
          const put = await storage.put(key, patternStream(size, { chunkBytes, seed }), { releaseChunks: true })
          return { put, expected, stored: await digestStream((await storage.get(key)).body), key }
        }),
      )
      for (const { put, expected, stored, key } of results) {
        expect(put).toEqual({ key, ...expected })
        expect(stored).toEqual(expected)
      }
      const broken = newStorageKey('documents')
      expect((await rejectionOf(storage.put(broken, patternStream(6 * MiB, { failAfter: 5 * MiB }), { releaseChunks: true }))).message).toBe(
        'the source broke midway',
      )
      expect(await storage.stat(broken)).toBeNull()
      expect(await settled(backend.leftovers)).toEqual([])
    }, 60_000)

    test('range reads: inclusive bounds, an open end, the end clamped, in a large object', async () => {
      const key = newStorageKey('documents')
      await storage.put(key, BINARY)
      const read = async (start: number, end?: number) => {
        const object = await storage.get(key, { range: { start, end } })
        return { range: object.range, length: object.length, size: object.size, bytes: await readAll(object.body) }
      }
      expect(await read(10, 19)).toEqual({ range: { start: 10, end: 19 }, length: 10, size: 512, bytes: BINARY.slice(10, 20) })
      expect(await read(0, 0)).toEqual({ range: { start: 0, end: 0 }, length: 1, size: 512, bytes: BINARY.slice(0, 1) })
      expect(await read(500)).toEqual({ range: { start: 500, end: 511 }, length: 12, size: 512, bytes: BINARY.slice(500) })
      expect(await read(511, 10_000)).toEqual({ range: { start: 511, end: 511 }, length: 1, size: 512, bytes: BINARY.slice(511) })

      const big = newStorageKey('documents')
      await storage.put(big, patternStream(12 * MiB, { seed: 3 }))
      const whole = await readAll((await storage.get(big)).body)
      const middle = await storage.get(big, { range: { start: 5 * MiB - 7, end: 10 * MiB + 7 } })
      expect(await readAll(middle.body)).toEqual(whole.slice(5 * MiB - 7, 10 * MiB + 8))
    }, 30_000)

    test('a range outside the object is refused with 416', async () => {
      const key = newStorageKey('documents')
      await storage.put(key, BINARY)
      for (const range of [{ start: 512 }, { start: 600, end: 700 }, { start: 20, end: 10 }, { start: -1, end: 3 }, { start: 1.5 }]) {
        const error = await rejectionOf(storage.get(key, { range }))
        expect(error).toBeInstanceOf(RangeNotSatisfiableError)
        expect((error as RangeNotSatisfiableError).status).toBe(416)
      }
      const empty = newStorageKey('documents')
      await storage.put(empty, new Uint8Array(0))
      expect(await rejectionOf(storage.get(empty, { range: { start: 0 } }))).toBeInstanceOf(RangeNotSatisfiableError)
    })

    test('stat: size, content type and time; null when missing', async () => {
      const key = newStorageKey('documents')
      const before = Date.now() - 2000
      await storage.put(key, 'hello', { contentType: 'text/markdown' })
      const stat = await storage.stat(key)
      expect(stat).toMatchObject({ key, size: 5, contentType: 'text/markdown' })
      expect(stat!.lastModified).toBeInstanceOf(Date)
      expect(stat!.lastModified.getTime()).toBeGreaterThanOrEqual(before)
      expect(await storage.stat(newStorageKey('documents'))).toBeNull()
    })

    test('a missing object is a 404 ObjectNotFoundError', async () => {
      const error = await rejectionOf(storage.get(newStorageKey('documents')))
      expect(error).toBeInstanceOf(ObjectNotFoundError)
      expect((error as ObjectNotFoundError).status).toBe(404)
    })

    test('delete removes the object and is idempotent', async () => {
      const key = newStorageKey('documents')
      await storage.put(key, BINARY)
      await storage.delete(key)
      expect(await storage.stat(key)).toBeNull()
      expect(await rejectionOf(storage.get(key))).toBeInstanceOf(ObjectNotFoundError)
      await storage.delete(key)
      await storage.delete(newStorageKey('documents'))
      expect(await keysUnder(storage, 'documents')).not.toContain(key)
    })

    test('overwrite replaces body and content type', async () => {
      const key = newStorageKey('extracted')
      await storage.put(key, 'first version, longer', { contentType: 'text/plain' })
      await storage.put(key, BINARY.slice(0, 7), { contentType: 'application/json' })
      const object = await storage.get(key)
      expect(object.size).toBe(7)
      expect(mediaType(object.contentType)).toBe('application/json')
      expect(await readAll(object.body)).toEqual(BINARY.slice(0, 7))
    })

    test('list: in key order, only under the prefix, children of a key, across pages', async () => {
      const documents = [newStorageKey('documents'), newStorageKey('documents'), newStorageKey('documents')]
      const parent = newStorageKey('extracted')
      const pages = ['page-0001', 'page-0002', 'page-0010'].map((page) => childKey(parent, page))
      for (const key of [...documents, parent, ...pages]) await storage.put(key, key)

      const listed = await keysUnder(storage, 'documents')
      expect(listed).toEqual([...listed].sort())
      for (const key of documents) expect(listed).toContain(key)
      expect(listed.every((key) => key.startsWith('documents/'))).toBe(true)

      expect(await keysUnder(storage, parent)).toEqual(pages)
      const extracted = await keysUnder(storage, 'extracted')
      expect(extracted).toContain(parent)
      for (const key of pages) expect(extracted).toContain(key)
      expect(extracted.some((key) => key.startsWith('documents/'))).toBe(false)

      const objects = []
      for await (const object of backend.paged.list(parent)) objects.push(object)
      expect(objects.map((object) => object.key)).toEqual(pages)
      expect(objects.every((object) => object.size === pages[0]!.length && object.lastModified instanceof Date)).toBe(true)

      for (const key of pages) await storage.delete(key)
      expect(await keysUnder(storage, parent)).toEqual([])
    })

    test('a put whose source errors midway stores nothing, and leaves the previous object intact', async () => {
      for (const failAfter of [3 * MiB, 11 * MiB]) {
        const key = newStorageKey('documents')
        const error = await rejectionOf(storage.put(key, patternStream(20 * MiB, { failAfter })))
        expect(error.message).toBe('the source broke midway')
        expect(await storage.stat(key)).toBeNull()
        expect(await keysUnder(storage, 'documents')).not.toContain(key)
      }
      const kept = newStorageKey('documents')
      await storage.put(kept, BINARY, { contentType: 'application/pdf' })
      await rejectionOf(storage.put(kept, patternStream(8 * MiB, { failAfter: 6 * MiB })))
      const object = await storage.get(kept)
      expect(object.contentType).toBe('application/pdf')
      expect(await readAll(object.body)).toEqual(BINARY)
      expect(await settled(backend.leftovers)).toEqual([])
    }, 60_000)

    test('an aborted put (signal, with the source stalled) stores nothing', async () => {
      const key = newStorageKey('documents')
      const controller = new AbortController()
      const source = patternStream(20 * MiB, { stallAfter: 2 * MiB, onProgress: (n) => n >= 2 * MiB && setTimeout(() => controller.abort(new Error('client went away')), 50) })
      const error = await rejectionOf(storage.put(key, source, { signal: controller.signal }))
      expect(error.message).toBe('client went away')
      expect(await storage.stat(key)).toBeNull()
      expect(await settled(backend.leftovers)).toEqual([])
    }, 30_000)

    test('maxBytes: exactly the limit is stored, one byte more is a 413 and stores nothing', async () => {
      const limit = 6 * MiB + 1
      const exact = newStorageKey('documents')
      expect((await storage.put(exact, patternStream(limit), { maxBytes: limit })).bytes).toBe(limit)
      expect((await storage.stat(exact))?.size).toBe(limit)

      const over = newStorageKey('documents')
      const error = await rejectionOf(storage.put(over, patternStream(limit + 1), { maxBytes: limit }))
      expect(error).toBeInstanceOf(ObjectTooLargeError)
      expect((error as ObjectTooLargeError).status).toBe(413)
      expect(await storage.stat(over)).toBeNull()
      expect(await rejectionOf(storage.put(over, new Uint8Array(11), { maxBytes: 10 }))).toBeInstanceOf(ObjectTooLargeError)
      expect(await storage.stat(over)).toBeNull()
      expect(await settled(backend.leftovers)).toEqual([])
    }, 30_000)

    test('traversal and malformed keys are refused by every operation, touching nothing', async () => {
      for (const raw of TRAVERSAL_KEYS) {
        const key = raw as StorageKey
        const operations: Promise<unknown>[] = [storage.put(key, 'x'), storage.get(key), storage.stat(key), storage.delete(key)]
        // `documents` alone is a valid list prefix (a whole prefix), not a key.
        if (!(STORAGE_PREFIXES as readonly string[]).includes(raw)) operations.push(keysUnder(storage, key))
        for (const operation of operations) {
          const error = await rejectionOf(operation)
          expect(error).toBeInstanceOf(InvalidStorageKeyError)
          expect((error as InvalidStorageKeyError).status).toBe(400)
        }
      }
      expect(await settled(backend.leftovers)).toEqual([])
    })
  })
}

storageContract('local', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'council-storage-'))
  const root = join(dataDir, 'objects')
  return {
    storage: createLocalStorage({ root }),
    paged: createLocalStorage({ root }),
    leftovers: () => {
      try {
        return readdirSync(join(root, '.tmp'))
      } catch {
        return []
      }
    },
    async cleanup() {
      // Nothing was written outside the root (the traversal test aimed at dataDir and above).
      expect(readdirSync(dataDir)).toEqual(['objects'])
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
})

let server: S3TestServer
storageContract('s3', async () => {
  server = await startS3Server()
  const options = { ...server, forcePathStyle: true }
  return {
    storage: createS3Storage(options),
    paged: createS3Storage({ ...options, listPageSize: 2 }),
    // Bun aborts the multipart upload of a failed put (AbortMultipartUpload), which drops its parts.
    leftovers: () => server.pendingUploads(),
    cleanup: () => server.stop(),
  }
})
