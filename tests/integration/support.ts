/**
 * Shared set-up of the integration suites. scripts/test-all.ts runs this
 * directory twice: on libsql, then on PostgreSQL (TEST_DATABASE_URL). A suite
 * builds its app on the run's dialect (`DIALECT`), so each test runs once per
 * dialect; a suite that needs PostgreSQL itself — a worker process sharing the
 * database, or pg's own statements — is declared with `describeOnPostgres` and
 * runs in the PostgreSQL pass only. The pg variant never skips: when PostgreSQL
 * is unreachable every pg test fails with a message that says so.
 */
import { afterAll, beforeAll, describe } from 'bun:test'
import type { AuditEventRow } from '../../db/schema'
import { buildTestApp, RUN_DIALECT, type TestApp, type TestAppOptions } from '../helpers/app'
import { pgUnreachable } from '../helpers/databases'

/** The dialect of this run. */
export const DIALECT = RUN_DIALECT

/** Declares a suite that needs PostgreSQL itself; it exists in the PostgreSQL run only. */
export function describeOnPostgres(name: string, body: () => void): void {
  if (DIALECT === 'pg') describe(name, body)
}

/**
 * Registers beforeAll/afterAll in the current describe and returns an accessor
 * to an app on the run's dialect. A failed build (e.g. PostgreSQL down) makes
 * every test that touches the app fail.
 */
export function useApp(env: Record<string, string> = {}, options: TestAppOptions = {}): () => TestApp {
  let app: TestApp | undefined
  let failure: Error | undefined
  const dialect = options.dialect ?? DIALECT
  beforeAll(async () => {
    try {
      app = await buildTestApp(env, options)
    } catch (error) {
      failure = error as Error
    }
  })
  afterAll(async () => {
    await app?.close()
  })
  return () => {
    if (app) return app
    if (dialect === 'pg') throw new Error(pgUnreachable('The test app', failure))
    throw new Error(`The ${dialect} test app could not be built: ${failure?.message ?? 'not built yet'}`)
  }
}

let counter = 0
/** A fresh email per call, so tests sharing one app never see each other's rows. */
export const freshUser = (label = 'user') => `${label}-${Date.now().toString(36)}-${++counter}@example.com`

/** The user id of a person, as /api/v1/me gives it (signing them in on first sight). */
export const userIdOf = async (t: TestApp, email: string): Promise<string> => (await t.json('GET', '/api/v1/me', { user: email })).body.id

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

/** Filters of GET /api/admin/audit (SPEC §4). */
export interface AuditFilter {
  action?: string
  /** Part of the email, or a user id. */
  actor?: string
  /** Exact, or a prefix ending in `*`. */
  target?: string
  request_id?: string
}

const AUDIT_READER = { user: 'audit-reader@example.com', role: 'auditor' }

/**
 * The audit events matching the filter, oldest first, read through the audit
 * API as an auditor (every page) and given back as rows. Reading the trail is
 * itself audited (`audit.view`), which a filter on another action never sees.
 * Events recorded with `recordLater` show once `deps.audit.flush()` ran.
 */
export async function auditEvents(t: TestApp, filter: AuditFilter): Promise<AuditEventRow[]> {
  const rows: AuditEventRow[] = []
  let cursor: string | null = null
  do {
    const query: URLSearchParams = new URLSearchParams({ ...(filter as Record<string, string>), limit: '200', ...(cursor ? { cursor } : {}) })
    const res = await t.json('GET', `/api/admin/audit?${query}`, AUDIT_READER)
    if (res.status !== 200) throw new Error(`reading the audit trail answered ${res.status}: ${JSON.stringify(res.body)}`)
    for (const item of res.body.items)
      rows.push({
        id: item.id,
        at: new Date(item.at),
        actorId: item.actor_id,
        actor: item.actor,
        role: item.role,
        action: item.action,
        target: item.target,
        sessionId: item.session_id,
        jobId: item.job_id,
        requestId: item.request_id,
        ip: item.ip,
        metadata: item.metadata,
      })
    cursor = res.body.next_cursor
  } while (cursor)
  return rows.reverse()
}
