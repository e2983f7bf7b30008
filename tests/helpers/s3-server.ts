/**
 * A real S3-compatible server for tests, run as its own process by
 * tests/helpers/s3.ts: s3rver (@20minutes/s3rver, the maintained fork of
 * s3rver), which speaks the S3 REST API over HTTP — SigV4-signed requests,
 * multipart uploads, Range, ListObjectsV2 — and keeps objects on disk. It is
 * patched (patches/) where it differs from S3 as Bun's client speaks it: the
 * SigV4 path of bucket-level requests, sorted listings (Bun's readdir is
 * unsorted), list tokens (it used DES, which Bun's crypto lacks), `Range:
 * bytes=0-0`, and AbortMultipartUpload, which it did not implement.
 *
 * Prints one JSON line `{"port":N,"directory":…}` once listening; exits when its stdin
 * closes (the test process died) or on SIGTERM, removing its directory.
 */
import S3rver from '@20minutes/s3rver'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const buckets = (process.env.S3_TEST_BUCKETS ?? 'council-test').split(',')
const directory = mkdtempSync(join(tmpdir(), 's3rver-'))
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) })
const { port } = await server.run()
console.log(JSON.stringify({ port, directory }))

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  await server.close().catch(() => {})
  rmSync(directory, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
