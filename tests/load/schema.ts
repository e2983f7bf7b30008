/**
 * What the PostgreSQL benchmarks set up before they measure (none of it is timed):
 * a schema of their own, migrated as the server would migrate it, and seed rows.
 * Unlike tests/helpers/databases.ts this reads BENCH_DATABASE_URL first, so a
 * benchmark can point at another server than the tests.
 */
import pg from 'pg'
import { newId } from '../../db/client'
import type { JobRow, SessionRow } from '../../db/schema'
import { createDeps, prepare } from '../../src/app'
import { loadConfig } from '../../src/config'
import type { Stores } from '../../src/stores'
import { createLogger } from '../../plugins/logging/logger'

export const PG = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const schemaName = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`

/** The URL that confines a client to `schema` (search_path). */
function schemaUrl(schema: string): string {
  const url = new URL(PG)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return url.toString()
}

/**
 * A new empty schema, the URL confined to it, and `drop` to remove it with everything in it.
 * @example
 * const { url, drop } = await freshSchema()
 */
export async function freshSchema(prefix = 'bench'): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = schemaName(prefix)
  const client = new pg.Client({ connectionString: PG })
  await client.connect()
  await client.query(`create schema ${schema}`)
  await client.end()
  return {
    url: schemaUrl(schema),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG })
      await c.connect()
      await c.query(`drop schema ${schema} cascade`)
      await c.end()
    },
  }
}

/**
 * A new empty schema made through a client that stays open (`admin`): the benchmark seeds
 * and counts with it, and at the end drops the schema through it and ends it.
 * @example
 * const { schema, databaseUrl, admin } = await schemaWithClient('bench_http')
 */
export async function schemaWithClient(prefix: string): Promise<{ schema: string; databaseUrl: string; admin: pg.Client }> {
  const schema = schemaName(prefix)
  const admin = new pg.Client({ connectionString: PG })
  await admin.connect()
  await admin.query(`create schema ${schema}`)
  return { schema, databaseUrl: schemaUrl(schema), admin }
}

/**
 * Migrates the schema as the server does, then through `admin` (left on the schema's
 * search_path) seeds 1,000 users of each kind (`<kind><n>@example.com`, n 0–999) and 100
 * finished sessions for each `bench` user, with the token figures of a real council.
 */
export async function migrateAndSeedUsers(admin: pg.Client, schema: string, databaseUrl: string, kinds: string[]): Promise<void> {
  const deps = createDeps(loadConfig({ APP_ENV: 'test', DATABASE_URL: databaseUrl }), { logger: createLogger({ level: 'error' }) })
  await prepare(deps)
  await deps.close()
  await admin.query(`set search_path to ${schema}`)
  await admin.query(
    `
    insert into users (id, external_id, email, created_at)
    select gen_random_uuid()::text, kind || n || '@example.com', kind || n || '@example.com', now()
    from generate_series(0, 999) n cross join unnest($1::text[]) k(kind)`,
    [kinds],
  )
  await admin.query(`
    insert into sessions (id, user_id, question, palette_id, status, stage, partial, tokens_in, tokens_out, cost_micro_usd, created_at, updated_at)
    select gen_random_uuid()::text, u.id, 'Benchmark question ' || n, 'default', 'succeeded', 'synthesis', false, 2400, 800, 780, now(), now()
    from generate_series(0, 99) n cross join users u where u.external_id like 'bench%'`)
}

/**
 * One user and `count` queued councils (a session and its job row each), written as the
 * API would have written them; the job ids, in order, for the queue.
 */
export async function seedQueuedCouncils(stores: Stores, count: number): Promise<string[]> {
  const userId = newId()
  const now = new Date()
  await stores.identity.insertUser({ id: userId, externalId: 'bench@example.com', email: 'bench@example.com', displayName: null, createdAt: now, lastSeenAt: null, deletedAt: null })
  const sessionRows: SessionRow[] = []
  const jobRows: JobRow[] = []
  for (let n = 0; n < count; n++) {
    const sessionId = newId()
    sessionRows.push({
      id: sessionId, userId, question: `Benchmark question ${n}: should we ship it?`, paletteId: 'default', status: 'queued',
      stage: null, partial: false, tokensIn: 0, tokensOut: 0, costMicroUsd: 0, error: null, webSearch: false, createdAt: now, updatedAt: now, deletedAt: null,
    })
    jobRows.push({
      id: newId(), kind: 'council', userId, sessionId, status: 'queued', stage: null, progress: 0, requestId: `bench-${n}`,
      role: 'user', idempotencyKey: null, input: null, output: null, error: null, attempts: 0, cancelRequested: false, createdAt: now,
      startedAt: null, finishedAt: null, heartbeatAt: null,
    })
  }
  await stores.sessions.insertMany(sessionRows)
  await stores.jobs.insertMany(jobRows)
  return jobRows.map((row) => row.id)
}
