/**
 * Shared set-up of the integration suites: a test app on a chosen dialect.
 * The pg variant never skips: when PostgreSQL is unreachable every pg test
 * fails with a message that says so.
 */
import { afterAll, beforeAll } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'

export type Dialect = 'sqlite' | 'pg'

export const PG_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'

/** Builds a migrated test app on libsql or PostgreSQL. */
export async function buildDialectApp(dialect: Dialect, env: Record<string, string> = {}): Promise<TestApp> {
  // The helper picks PostgreSQL from TEST_DATABASE_URL and then gives the app a
  // schema of its own. (Passing DATABASE_URL in env instead would not isolate it:
  // the helper lets env.DATABASE_URL override the schema-scoped URL.) The libsql
  // variant must stay on libsql even when TEST_DATABASE_URL is set, so it is
  // hidden for the duration of that build.
  const saved = process.env.TEST_DATABASE_URL
  if (dialect === 'pg') process.env.TEST_DATABASE_URL = PG_URL
  else delete process.env.TEST_DATABASE_URL
  try {
    return await buildTestApp(env)
  } finally {
    if (saved === undefined) delete process.env.TEST_DATABASE_URL
    else process.env.TEST_DATABASE_URL = saved
  }
}

/**
 * Registers beforeAll/afterAll in the current describe and returns an accessor.
 * A failed build (e.g. PostgreSQL down) makes every test that touches the app fail.
 */
export function useApp(dialect: Dialect, env: Record<string, string> = {}): () => TestApp {
  let app: TestApp | undefined
  let failure: Error | undefined
  beforeAll(async () => {
    try {
      app = await buildDialectApp(dialect, env)
    } catch (error) {
      failure = error as Error
    }
  })
  afterAll(async () => {
    await app?.close()
  })
  return () => {
    if (app) return app
    const where = dialect === 'pg' ? ` on PostgreSQL at ${PG_URL} (is it running? set TEST_DATABASE_URL)` : ''
    throw new Error(`The ${dialect} test app could not be built${where}: ${failure?.message ?? 'not built yet'}`)
  }
}

let counter = 0
/** A fresh email per call, so tests sharing one app never see each other's rows. */
export const freshUser = (label = 'user') => `${label}-${Date.now().toString(36)}-${++counter}@example.com`

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Asserts the SPEC error shape and that its request_id is the response's X-Request-Id. */
export function expectErrorShape(
  expect: typeof import('bun:test').expect,
  res: { status: number; body: any; headers: Headers },
  status: number,
  code?: string,
) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type') ?? '').toContain('application/json')
  expect(res.body).toBeObject()
  expect(Object.keys(res.body)).toEqual(['error'])
  expect(typeof res.body.error.code).toBe('string')
  expect(res.body.error.code).toMatch(/^[a-z][a-z0-9_]*$/)
  if (code) expect(res.body.error.code).toBe(code)
  expect(typeof res.body.error.message).toBe('string')
  expect(res.body.error.message.length).toBeGreaterThan(5)
  expect(res.body.error.request_id).toBeTruthy()
  expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'))
}
