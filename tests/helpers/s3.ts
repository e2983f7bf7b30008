/**
 * Starts a real S3-compatible server (tests/helpers/s3-server.ts) in a child
 * process on a free port, offline, for the storage contract suite and for any
 * test that wants STORAGE_BACKEND=s3.
 */
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const SCRIPT = resolve(import.meta.dir, 's3-server.ts')
const START_TIMEOUT_MS = 15_000

export interface S3TestServer {
  endpoint: string
  bucket: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  /** The app's configuration for this server: STORAGE_BACKEND=s3 and the S3_* variables. */
  env: Record<string, string>
  /** Multipart uploads begun and neither completed nor aborted (the server keeps their parts on disk). */
  pendingUploads(): string[]
  stop(): Promise<void>
}

/**
 * @example
 * const s3 = await startS3Server()
 * const t = await buildTestApp(s3.env)
 * afterAll(() => s3.stop())
 */
export async function startS3Server({ bucket = 'council-test' }: { bucket?: string } = {}): Promise<S3TestServer> {
  const proc = Bun.spawn(['bun', SCRIPT], {
    env: { ...process.env, S3_TEST_BUCKETS: bucket },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const reader = proc.stdout.getReader()
  let text = ''
  const timer = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS)
  try {
    while (!text.includes('\n')) {
      const { done, value } = await reader.read()
      if (done) throw new Error(`the S3 test server exited before listening (code ${await proc.exited})`)
      text += new TextDecoder().decode(value)
    }
  } finally {
    clearTimeout(timer)
    reader.releaseLock()
  }
  const { port, directory } = JSON.parse(text.slice(0, text.indexOf('\n'))) as { port: number; directory: string }
  // s3rver's built-in account.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    bucket,
    region: 'us-east-1',
    ...credentials,
    env: {
      STORAGE_BACKEND: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    },
    pendingUploads() {
      try {
        return readdirSync(join(directory, bucket, '._S3rver_uploads'))
      } catch {
        return []
      }
    },
    async stop() {
      proc.kill('SIGTERM')
      const exited = await Promise.race([proc.exited, Bun.sleep(5000).then(() => null)])
      if (exited === null) proc.kill('SIGKILL')
    },
  }
}
