/**
 * Builds a real app for tests: a fresh libsql file or a private schema of the
 * test PostgreSQL, migrated, with the test config. `call` drives routes through
 * app.handle, like an outside client would.
 *
 * The database is a parameter (`dialect`), never an environment variable a test
 * sets: scripts/test-all.ts runs tests/integration once on libsql and once with
 * TEST_DATABASE_URL set, and an app is on that run's dialect unless a suite
 * needs PostgreSQL itself and says so.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, createDeps, prepare, type AppDeps } from '../../src/app'
import { testConfig, type Config } from '../../src/config'
import { createLogger } from '../../plugins/logging/logger'
import { privateSchema, type Dialect } from './databases'

/** The dialect of this run: PostgreSQL when TEST_DATABASE_URL is set (read once, never written). */
export const RUN_DIALECT: Dialect = process.env.TEST_DATABASE_URL ? 'pg' : 'sqlite'

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

interface CallOptions {
  user?: string
  role?: string
  body?: unknown
  headers?: Record<string, string>
}

export interface TestAppOptions extends Partial<Pick<AppDeps, 'llm' | 'db'>> {
  /** libsql or PostgreSQL (a schema of its own); the run's dialect by default. */
  dialect?: Dialect
}

/**
 * @example
 * const t = await buildTestApp({ ADMIN_EMAILS: 'boss@example.com' })
 * const onPg = await buildTestApp({ JOBS_BACKEND: 'bullmq' }, { dialect: 'pg' })
 * const res = await t.json('GET', '/api/v1/me', { user: 'alice@example.com' })
 */
export async function buildTestApp(env: Record<string, string> = {}, { dialect = RUN_DIALECT, ...overrides }: TestAppOptions = {}): Promise<TestApp> {
  if ('DATABASE_URL' in env) throw new Error('buildTestApp: choose the database with { dialect }, not DATABASE_URL')
  const dataDir = mkdtempSync(join(tmpdir(), 'council-test-'))
  const schema = dialect === 'pg' ? await privateSchema('t') : null
  const config = testConfig({ ...env, DATA_DIR: dataDir, DATABASE_URL: schema?.url ?? `file:${dataDir}/council.db` })
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
      await schema?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
