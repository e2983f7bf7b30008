/**
 * Object storage in the real app: createDeps builds `deps.storage` from
 * STORAGE_BACKEND, and /readyz reports a `storage` component from a real
 * put/stat/delete probe — under DATA_DIR/objects by default, against a real
 * S3-compatible server (started here) with STORAGE_BACKEND=s3, and failing the
 * whole report (503; storage is required) when the bucket cannot be reached.
 * Runs on the database of the pass (libsql, then PostgreSQL).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { newStorageKey } from '../../plugins/storage'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startS3Server, type S3TestServer } from '../helpers/s3'

const opened: TestApp[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})

async function app(env: Record<string, string> = {}) {
  const t = await buildTestApp(env)
  opened.push(t)
  return t
}

let s3: S3TestServer
beforeAll(async () => {
  s3 = await startS3Server()
})
afterAll(() => s3?.stop())

describe('storage in the app', () => {
  test('local by default: objects under DATA_DIR/objects, /readyz storage ok with latency, probe leaves nothing', async () => {
    const t = await app()
    expect(t.deps.storage.backend).toBe('local')
    const ready = await t.json('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.status).toBe('ok')
    expect(ready.body.components.storage).toMatchObject({ status: 'ok', backend: 'local' })
    expect(ready.body.components.storage.latency_ms).toBeGreaterThanOrEqual(0)

    const key = newStorageKey('documents')
    await t.deps.storage.put(key, 'kept under the data dir')
    expect(existsSync(join(t.config.dataDir, 'objects', `${key}.bin`))).toBe(true)
    const probes = []
    for await (const object of t.deps.storage.list('health')) probes.push(object.key)
    expect(probes).toEqual([])
  })

  test('STORAGE_BACKEND=s3 against a real S3-compatible server: /readyz storage ok, objects round-trip', async () => {
    const t = await app(s3.env)
    expect(t.deps.storage.backend).toBe('s3')
    const ready = await t.json('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.components.storage).toMatchObject({ status: 'ok', backend: 's3' })

    const key = newStorageKey('documents')
    await t.deps.storage.put(key, 'in the bucket', { contentType: 'text/markdown' })
    expect(await new Response((await t.deps.storage.get(key)).body).text()).toBe('in the bucket')
    await t.deps.storage.delete(key)
  })

  test('an unreachable bucket fails /readyz with 503 and says why; wrong keys too', async () => {
    const down = await app({ ...s3.env, S3_ENDPOINT: 'http://127.0.0.1:1' })
    const ready = await down.json('GET', '/readyz')
    expect(ready.status).toBe(503)
    expect(ready.body.status).toBe('fail')
    expect(ready.body.components.storage.status).toBe('fail')
    expect(ready.body.components.storage.error).toMatch(/Object storage could not store an object/)
    expect(ready.body.components.db.status).toBe('ok')

    const refused = await app({ ...s3.env, S3_SECRET_ACCESS_KEY: 'not-the-secret' })
    const report = await refused.json('GET', '/readyz')
    expect(report.status).toBe(503)
    expect(report.body.components.storage.error).toContain('SignatureDoesNotMatch')
    // The secret never appears in what /readyz says.
    expect(JSON.stringify(report.body)).not.toContain('not-the-secret')
  })
})
