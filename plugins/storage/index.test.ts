/**
 * The storage plugin on a bare Elysia app: the `storage` decorator streaming a
 * request body in and a (ranged) object out, its errors through the project's
 * error handler, the /readyz probe, and the backend chosen from config. The
 * backends' own contract is tests/unit/storage-contract.test.ts.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testConfig } from '../../src/config'
import { errors } from '../errors'
import { readiness } from '../health'
import { createLogger } from '../logging/logger'
import { createObjectStorage, newStorageKey, parseStorageKey, probeStorage, storage, storageReadiness, type ObjectStorage } from '.'
import { createLocalStorage } from './local'
import { createS3Storage } from './s3'

const dir = mkdtempSync(join(tmpdir(), 'council-storage-plugin-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const logger = createLogger({ level: 'error', sink: () => {} })

/** An upload and a download route, as the documents module will have them. */
function appWith(backend: ObjectStorage) {
  return new Elysia()
    .use(errors({ logger }))
    .use(storage({ storage: backend }))
    .post(
      '/objects',
      async ({ storage, request }) => {
        const key = newStorageKey('documents')
        const stored = await storage.put(key, request.body!, {
          contentType: request.headers.get('content-type') ?? undefined,
          maxBytes: 1024,
          signal: request.signal,
        })
        return { id: key.split('/')[1], bytes: stored.bytes, sha256: stored.sha256 }
      },
      { parse: 'none' },
    )
    .get('/objects/:id', async ({ storage, params, headers }) => {
      const match = /^bytes=(\d+)-(\d*)$/.exec(headers.range ?? '')
      const range = match ? { start: Number(match[1]), end: match[2] ? Number(match[2]) : undefined } : undefined
      const object = await storage.get(parseStorageKey(`documents/${params.id}`), { range })
      return new Response(object.body, {
        status: object.range ? 206 : 200,
        headers: {
          'content-type': object.contentType,
          'content-length': String(object.length),
          ...(object.range ? { 'content-range': `bytes ${object.range.start}-${object.range.end}/${object.size}` } : {}),
        },
      })
    })
}

describe('storage plugin', () => {
  const local = createLocalStorage({ root: join(dir, 'objects') })
  const app = appWith(local)

  test('a request body streams into storage and back out, whole or by range', async () => {
    const body = new TextEncoder().encode('0123456789abcdef')
    const created = await app.handle(
      new Request('http://localhost/objects', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: new Blob([body]).stream() }),
    )
    expect(created.status).toBe(200)
    const { id, bytes, sha256 } = (await created.json()) as { id: string; bytes: number; sha256: string }
    expect(bytes).toBe(16)
    expect(sha256).toBe(new Bun.CryptoHasher('sha256').update(body).digest('hex'))

    const whole = await app.handle(new Request(`http://localhost/objects/${id}`))
    expect(whole.status).toBe(200)
    expect(whole.headers.get('content-type')).toBe('text/csv')
    expect(await whole.text()).toBe('0123456789abcdef')

    const part = await app.handle(new Request(`http://localhost/objects/${id}`, { headers: { range: 'bytes=4-7' } }))
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe('bytes 4-7/16')
    expect(await part.text()).toBe('4567')
  })

  test('storage errors answer in the error shape: 404, 416, 413, 400 for a forced key', async () => {
    const missing = await app.handle(new Request(`http://localhost/objects/${crypto.randomUUID()}`))
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found')

    const created = await app.handle(new Request('http://localhost/objects', { method: 'POST', body: 'short' }))
    const { id } = (await created.json()) as { id: string }
    const outside = await app.handle(new Request(`http://localhost/objects/${id}`, { headers: { range: 'bytes=100-200' } }))
    expect(outside.status).toBe(416)
    expect(outside.headers.get('content-range')).toBe('bytes */5')

    const large = await app.handle(new Request('http://localhost/objects', { method: 'POST', body: 'x'.repeat(1025) }))
    expect(large.status).toBe(413)
    expect(((await large.json()) as { error: { code: string } }).error.code).toBe('file_too_large')

    const forced = await app.handle(new Request('http://localhost/objects/..%2F..%2Fetc%2Fpasswd'))
    expect(forced.status).toBe(400)
    expect(((await forced.json()) as { error: { code: string } }).error.code).toBe('invalid_storage_key')
  })

  test('each app gets its own backend', async () => {
    const other = createLocalStorage({ root: join(dir, 'other') })
    const key = newStorageKey('documents')
    await other.put(key, 'only in the other root')
    const id = key.split('/')[1]
    expect((await appWith(other).handle(new Request(`http://localhost/objects/${id}`))).status).toBe(200)
    expect((await app.handle(new Request(`http://localhost/objects/${id}`))).status).toBe(404)
  })

  test('the /readyz probe writes, reads back and deletes an object under health/', async () => {
    expect(await probeStorage(local)).toEqual({ backend: 'local' })
    const leftovers = []
    for await (const object of local.list('health')) leftovers.push(object.key)
    expect(leftovers).toEqual([])

    const report = await readiness(storageReadiness(local), 2000)
    expect(report.status).toBe('ok')
    expect(report.components.storage).toMatchObject({ status: 'ok', backend: 'local' })
    expect(report.components.storage!.latency_ms).toBeGreaterThanOrEqual(0)
  })

  test('a backend that cannot write fails the probe, and storage is required (fail, not degraded)', async () => {
    const blocked = join(dir, 'a-file')
    writeFileSync(blocked, 'not a directory')
    const report = await readiness(storageReadiness(createLocalStorage({ root: blocked })), 2000)
    expect(report.status).toBe('fail')
    expect(report.components.storage).toMatchObject({ status: 'fail' })
    expect(String(report.components.storage!.error)).toContain('ENOTDIR')

    const unreachable = createS3Storage({
      endpoint: 'http://127.0.0.1:1',
      bucket: 'council',
      region: 'us-east-1',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      forcePathStyle: true,
    })
    const s3Report = await readiness(storageReadiness(unreachable), 2000)
    expect(s3Report.status).toBe('fail')
    expect(s3Report.components.storage!.error).toMatch(/^Object storage could not store an object/)
  })

  test('S3 addressing: path-style puts the bucket in the path, virtual-hosted in the host name', async () => {
    const seen: string[] = []
    const stub = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request) => {
        seen.push(`${request.headers.get('host')?.replace(/:\d+$/, '')} ${new URL(request.url).pathname}`)
        return new Response(null, { status: 404 })
      },
    })
    try {
      const key = newStorageKey('documents')
      for (const forcePathStyle of [true, false]) {
        const s3 = createS3Storage({ endpoint: `http://localhost:${stub.port}`, bucket: 'council', region: 'us-east-1', accessKeyId: 'id', secretAccessKey: 'secret', forcePathStyle })
        expect(await s3.stat(key)).toBeNull()
      }
      expect(seen).toEqual([`localhost /council/${key}`, `council.localhost /${key}`])
    } finally {
      stub.stop(true)
    }
  })

  test('the backend is chosen by STORAGE_BACKEND', () => {
    expect(createObjectStorage(testConfig({ DATA_DIR: dir })).backend).toBe('local')
    const s3 = testConfig({
      DATA_DIR: dir,
      STORAGE_BACKEND: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'council',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
    })
    expect(createObjectStorage(s3).backend).toBe('s3')
  })
})
