/**
 * A client that cuts its connection in the middle of an upload, against the
 * real server process (HTTP over TCP, the body streamed as it arrives): while
 * the bytes flow only a temporary object exists; once the connection is gone
 * nothing is left — no object in storage (a local directory, then a real
 * S3-compatible bucket, where no multipart upload may stay open either) and no
 * row in the documents or sessions tables. The server logs a 400
 * upload_incomplete, not a 500, and keeps serving.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createDatabase } from '../../db/client'
import { createS3Storage } from '../../plugins/storage/s3'
import { startS3Server, type S3TestServer } from '../helpers/s3'
import { startServer, type RunningServer } from '../helpers/server'

const BOUNDARY = 'CutMidwayBoundary7MA4YWxkTrZu0gW'
const FILE_BYTES = 8 * 1024 * 1024
const SENT_BYTES = 6 * 1024 * 1024

/** Files under a directory, recursively ([] when it does not exist). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
  } catch {
    return []
  }
}

/** Sends the request head and part of an 8 MiB text file, checks `during`, then cuts the connection. */
async function cutMidway(server: RunningServer, user: string, during: () => Promise<void>): Promise<void> {
  const head =
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="question"\r\n\r\nWhat is in the long file?\r\n` +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="long.txt"\r\nContent-Type: text/plain\r\n\r\n`
  const closed = Promise.withResolvers<void>()
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port: server.port,
    socket: { data() {}, close: () => closed.resolve(), error: () => closed.resolve() },
  })
  socket.write(
    `POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-Id: ${user}\r\n` +
      `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${head.length + FILE_BYTES + BOUNDARY.length + 8}\r\n\r\n${head}`,
  )
  const line = Buffer.from('Streaming uploads must never be buffered whole in memory.\n'.padEnd(64, '.'))
  const chunk = Buffer.concat(Array.from({ length: 1024 }, () => line))
  for (let sent = 0; sent < SENT_BYTES; sent += chunk.length) {
    socket.write(chunk)
    await Bun.sleep(2)
  }
  await Bun.sleep(300)
  await during()
  socket.terminate()
  await closed.promise
}

async function waitFor<T>(read: () => Promise<T>, until: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000
  for (;;) {
    const value = await read()
    if (until(value)) return value
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(value)}`)
    await Bun.sleep(50)
  }
}

async function rowsOf(server: RunningServer) {
  const db = createDatabase({ url: `file:${server.dataDir}/council.db` })
  try {
    const { orm, t } = db.handle.dialect === 'sqlite' ? db.handle : (() => { throw new Error('expected libsql') })()
    return { documents: await orm.select().from(t.documents), sessions: await orm.select().from(t.sessions) }
  } finally {
    await db.close()
  }
}

describe('an upload cut off midway', () => {
  test('local storage: a temporary file while it streams, nothing afterwards; no rows; a 400 in the log', async () => {
    const server = await startServer()
    try {
      await cutMidway(server, 'cut-local@example.com', async () => {
        // The body is streaming into a temporary file, not held in memory and not yet an object.
        expect(filesUnder(join(server.dataDir, 'objects', '.tmp')).length).toBe(1)
        expect(filesUnder(join(server.dataDir, 'objects', 'documents'))).toEqual([])
      })
      await waitFor(async () => filesUnder(join(server.dataDir, 'objects')), (files) => files.length === 0, 'objects left behind')
      expect(await rowsOf(server)).toEqual({ documents: [], sessions: [] })
      await waitFor(async () => server.output(), (out) => /"status":400/.test(out) && out.includes('/api/v1/sessions'), 'no 400 logged')
      expect(server.output()).not.toMatch(/"status":500/)
      const after = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: { 'x-user-id': 'cut-local@example.com', 'content-type': 'application/json' }, body: '{"question":"Still there?"}' })
      expect(after.status).toBe(201)
    } finally {
      await server.stop()
    }
  }, 30_000)

  describe('on S3', () => {
    let s3: S3TestServer
    beforeAll(async () => {
      s3 = await startS3Server({ bucket: 'council-abort' })
    })
    afterAll(() => s3?.stop())

    test('no object, no open multipart upload, no rows', async () => {
      const server = await startServer({ env: s3.env })
      const bucket = createS3Storage({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true })
      const keys = async () => {
        const found: string[] = []
        for await (const object of bucket.list('documents')) found.push(object.key)
        return found
      }
      try {
        await cutMidway(server, 'cut-s3@example.com', async () => {
          expect(await keys()).toEqual([])
          // More than one 5 MiB part has arrived: a multipart upload is open on the server.
          expect(s3.pendingUploads().length).toBe(1)
        })
        await waitFor(async () => ({ keys: await keys(), pending: s3.pendingUploads() }), (state) => state.keys.length === 0 && state.pending.length === 0, 'left in the bucket')
        expect(await rowsOf(server)).toEqual({ documents: [], sessions: [] })
      } finally {
        await server.stop()
      }
    }, 30_000)
  })
})
