/**
 * Builds a real app for tests: a fresh libsql file (or the PostgreSQL of
 * TEST_DATABASE_URL, in a schema of its own), migrated, with the test config.
 * `call` drives routes through app.handle, like an outside client would.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createApp, createDeps, prepare, type AppDeps } from '../../src/app'
import { testConfig, type Config } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'

export interface TestApp {
  app: ReturnType<typeof createApp>
  deps: AppDeps
  config: Config
  /** Lines the app logged, parsed. */
  logs: Array<Record<string, unknown>>
  call(method: string, path: string, options?: CallOptions): Promise<Response>
  json<T = any>(method: string, path: string, options?: CallOptions): Promise<{ status: number; body: T; headers: Headers }>
  close(): Promise<void>
}

export interface CallOptions {
  user?: string
  role?: string
  body?: unknown
  headers?: Record<string, string>
}

/**
 * @example
 * const t = await buildTestApp()
 * const res = await t.json('GET', '/api/v1/me', { user: 'alice@example.com' })
 */
export async function buildTestApp(env: Record<string, string> = {}, overrides: Parameters<typeof createDeps>[1] = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'council-test-'))
  let dropSchema: (() => Promise<void>) | null = null
  let databaseUrl = `file:${dataDir}/council.db`
  const pgUrl = env.DATABASE_URL ?? process.env.TEST_DATABASE_URL
  if (pgUrl) {
    // Each test app gets its own PostgreSQL schema, so suites never see each other's rows.
    const schema = `t_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
    const admin = new pg.Client({ connectionString: pgUrl })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    await admin.end()
    const url = new URL(pgUrl)
    url.searchParams.set('options', `-c search_path=${schema}`)
    databaseUrl = url.toString()
    dropSchema = async () => {
      const client = new pg.Client({ connectionString: pgUrl })
      await client.connect()
      await client.query(`drop schema ${schema} cascade`)
      await client.end()
    }
  }
  const config = testConfig({ ...env, DATA_DIR: dataDir, DATABASE_URL: databaseUrl })
  const logs: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line)) })
  const deps = createDeps(config, { logger, ...overrides })
  await prepare(deps)
  const app = createApp(config, deps)

  const call = (method: string, path: string, options: CallOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.user) headers['x-user-id'] = options.user
    if (options.role) headers['x-role'] = options.role
    let body: BodyInit | undefined
    if (options.body instanceof FormData || typeof options.body === 'string') body = options.body as BodyInit
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    return app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  }

  return {
    app,
    deps,
    config,
    logs,
    call,
    async json(method, path, options) {
      const res = await call(method, path, options)
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers }
    },
    async close() {
      await deps.close()
      await dropSchema?.()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
