/**
 * Audit events streamed to a SIEM (SPEC §3 audit: AUDIT_STREAM_URL): JSON
 * lines over HTTP, batched, from the outbox, retried while the SIEM is down.
 * The SIEM is a local HTTP sink (tests/helpers/siem-sink.ts) that refuses
 * connections, then answers 500, then recovers. Runs on the run's dialect.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase } from '../../db/client'
import { createAuditStream } from '../../plugins/audit'
import { createLogger } from '../../plugins/logging/logger'
import { createDeps, prepare, type AppDeps } from '../../src/app'
import { testConfig } from '../../src/config'
import { createStores } from '../../src/stores'
import { buildTestApp } from '../helpers/app'
import { privateSchema } from '../helpers/databases'
import { createSiemSink, waitFor, type SiemSink } from '../helpers/siem-sink'
import { DIALECT, UUID } from './support'

const ADMIN = 'stream-admin@example.com'
const quiet = createLogger({ level: 'error', sink: () => undefined })

/** Small batches and short waits, so a test sees many batches, failures and retries in a second or two. */
const streamEnv = (sink: SiemSink, extra: Record<string, string> = {}) => ({
  AUDIT_STREAM_URL: sink.url,
  AUDIT_STREAM_AUTHORIZATION: 'Bearer siem-test-token',
  AUDIT_STREAM_BATCH: '3',
  AUDIT_STREAM_POLL_MS: '20',
  AUDIT_STREAM_BACKOFF_MS: '20',
  AUDIT_STREAM_BACKOFF_MAX_MS: '150',
  AUDIT_STREAM_TIMEOUT_MS: '2000',
  AUDIT_STREAM_SHUTDOWN_GRACE_MS: '300',
  ...extra,
})

let counter = 0
const uniqueFamily = (label: string) => `stream.${label}${Date.now().toString(36)}${++counter}`

/** The targets of the accepted events of one family, in arrival order. */
const arrived = (sink: SiemSink, family: string) => sink.accepted.filter((event) => event.action === family).map((event) => event.target)

/** No id twice, whatever the family. */
const expectNoDuplicates = (sink: SiemSink) => {
  const ids = sink.accepted.map((event) => event.id)
  expect(new Set(ids).size).toBe(ids.length)
}

/** A database that outlives the app instances using it, so one can stop and another take over. */
async function sharedDatabase(): Promise<{ url: string; dir: string; drop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'council-stream-'))
  if (DIALECT === 'sqlite') return { url: `file:${dir}/council.db`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) }
  const schema = await privateSchema('t')
  return {
    url: schema.url,
    dir,
    async drop() {
      await schema.drop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function startInstance(database: { url: string; dir: string }, env: Record<string, string>): Promise<AppDeps> {
  const deps = createDeps(testConfig({ DATA_DIR: database.dir, DATABASE_URL: database.url, ...env }), { logger: quiet })
  await prepare(deps)
  return deps
}

describe(`audit stream on ${DIALECT}`, () => {
  test('SIEM refused, then failing, then back: each committed event arrives once, in order; a rolled-back one never', async () => {
    const sink = await createSiemSink()
    const t = await buildTestApp(streamEnv(sink, { ADMIN_EMAILS: ADMIN, AUDIT_STREAM_MAX_LAG_MS: '1000' }))
    try {
      const { audit, stores } = t.deps
      const family = uniqueFamily('down')
      const expected: string[] = []
      const record = async (target: string) => {
        await audit.record({ action: family, target, metadata: { password: 'never sent' } })
        expected.push(target)
      }
      for (let i = 0; i < 4; i++) await record(`e${i}`)
      await stores.transaction(async (tx) => {
        await audit.record({ action: family, target: 'e4' }, tx)
        await audit.record({ action: family, target: 'e5' }, tx)
      })
      expected.push('e4', 'e5')
      await expect(
        stores.transaction(async (tx) => {
          await audit.record({ action: family, target: 'rolled-back' }, tx)
          throw new Error('the change failed')
        }),
      ).rejects.toThrow('the change failed')
      audit.recordLater({ action: family, target: 'e6' })
      audit.recordLater({ action: family, target: 'e7' })
      await audit.flush()
      expected.push('e6', 'e7')

      // Down long enough for readiness to notice (AUDIT_STREAM_MAX_LAG_MS=1000); nothing may be lost meanwhile.
      await waitFor('/readyz to report the stream degraded', async () => (await t.json('GET', '/readyz')).body.status === 'degraded')
      const ready = await t.json('GET', '/readyz')
      expect(ready.status).toBe(200)
      expect(ready.body.components.audit_stream.status).toBe('fail')
      expect(ready.body.components.audit_stream.error).toContain('8 audit event(s) wait for the SIEM')
      expect(ready.body.components.audit_stream.error).toContain('could not reach the SIEM')
      expect(sink.requests).toEqual([])

      sink.failNext = 4
      sink.listen()
      for (let i = 8; i < 12; i++) await record(`e${i}`)
      await waitFor('every event at the sink', () => arrived(sink, family).length >= expected.length)
      const view = await t.json('GET', '/api/admin/audit?limit=1', { user: ADMIN })
      await audit.flush()
      const requestId = view.headers.get('x-request-id')
      const viewed = () => sink.accepted.filter((event) => event.request_id === requestId && event.action === 'audit.view')
      await waitFor('the audit.view event of an HTTP request', () => viewed().length > 0)
      await Bun.sleep(200) // a duplicate would arrive by now

      expect(arrived(sink, family)).toEqual(expected)
      expectNoDuplicates(sink)
      expect(sink.requests.filter((request) => request.status === 500)).toHaveLength(4)
      for (const request of sink.requests) {
        expect(request.contentType).toBe('application/x-ndjson')
        expect(request.authorization).toBe('Bearer siem-test-token')
        expect(request.endsWithNewline).toBe(true)
        expect(request.lines).toBeLessThanOrEqual(3)
      }
      const [first] = sink.accepted.filter((event) => event.action === family)
      expect(Object.keys(first!).sort()).toEqual(['action', 'actor', 'actor_id', 'at', 'id', 'ip', 'job_id', 'metadata', 'request_id', 'role', 'session_id', 'target'])
      expect(first!.id).toMatch(UUID)
      expect(first!.metadata).toEqual({ password: '[redacted]' })
      const stored = await stores.audit.list({ action: { equals: family }, limit: 100 })
      expect(stored.map((row) => row.id).sort()).toEqual(sink.accepted.filter((event) => event.action === family).map((event) => event.id).sort())
      expect(viewed()).toHaveLength(1)
      expect(viewed()[0]).toMatchObject({ actor: ADMIN, role: 'admin' })

      const metrics = await t.deps.metrics.render()
      expect(Number(/^audit_stream_events_delivered_total (\d+)/m.exec(metrics)?.[1])).toBe(sink.accepted.length)
      // 4 answered 500, and at least one refused connection before the sink listened.
      expect(Number(/^audit_stream_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5)

      const after = await t.json('GET', '/readyz')
      expect(after.body.status).toBe('ok')
      expect(after.body.components.audit_stream).toMatchObject({ status: 'ok', backlog: 0, oldest_age_ms: null, draining_here: true, last_error: null })
    } finally {
      await t.close()
      sink.close()
    }
  })

  test('an app restarted mid-stream loses nothing: the next instance delivers what the first could not', async () => {
    const sink = await createSiemSink()
    sink.listen()
    const database = await sharedDatabase()
    try {
      const family = uniqueFamily('restart')
      const first = await startInstance(database, streamEnv(sink))
      const expected = Array.from({ length: 11 }, (_, i) => `e${i}`)
      // The SIEM takes two batches (of up to 3), then fails until the first instance is gone.
      sink.acceptOnly = 2
      for (const target of expected.slice(0, 9)) await first.audit.record({ action: family, target })
      await waitFor('a refused batch', () => sink.requests.some((request) => request.status === 500))
      const accepted = arrived(sink, family).length
      expect(accepted).toBeGreaterThanOrEqual(2)
      // Queued, not yet written: shutting down writes them to the outbox too.
      first.audit.recordLater({ action: family, target: 'e9' })
      first.audit.recordLater({ action: family, target: 'e10' })
      await first.close()
      const beforeRestart = arrived(sink, family)
      expect(beforeRestart.length).toBe(accepted)
      expect(beforeRestart.length).toBeLessThan(expected.length)
      expect(beforeRestart).toEqual(expected.slice(0, beforeRestart.length))

      sink.acceptOnly = null
      const second = await startInstance(database, streamEnv(sink))
      try {
        await waitFor('every event at the sink', () => arrived(sink, family).length >= expected.length)
        await Bun.sleep(200)
        expect(arrived(sink, family)).toEqual(expected)
        expectNoDuplicates(sink)
        expect(await second.stores.audit.outbox.backlog()).toEqual({ count: 0, oldestAt: null })
      } finally {
        await second.close()
      }
    } finally {
      sink.close()
      await database.drop()
    }
  })

  test('a drainer that died without giving up its lease is replaced once the lease runs out', async () => {
    const sink = await createSiemSink()
    sink.listen()
    const database = await sharedDatabase()
    try {
      // A holder that crashed: its lease row ('siem', the stream's) stays until it expires.
      const ttlMs = 1000
      const setup = createDatabase({ url: database.url })
      await setup.migrate()
      const crashedAt = Date.now()
      expect(await createStores(setup).audit.outbox.acquireLease('siem', 'crashed-instance', ttlMs)).toBe(true)
      await setup.close()
      const deps = await startInstance(database, streamEnv(sink))
      try {
        const family = uniqueFamily('dead')
        for (const target of ['e0', 'e1', 'e2', 'e3']) await deps.audit.record({ action: family, target })
        await waitFor('every event at the sink', () => arrived(sink, family).length >= 4)
        await Bun.sleep(100)
        expect(arrived(sink, family)).toEqual(['e0', 'e1', 'e2', 'e3'])
        // Nothing went out while the dead holder's lease was still valid.
        expect(sink.requests[0]!.at).toBeGreaterThanOrEqual(crashedAt + ttlMs - 20)
        expect((await deps.auditStream!.status()).draining).toBe(true)
      } finally {
        await deps.close()
      }
    } finally {
      sink.close()
      await database.drop()
    }
  })

  test('one drainer at a time: a second stream on the same outbox waits for the lease, nothing is sent twice', async () => {
    const sink = await createSiemSink({ delayMs: 5 })
    sink.listen()
    const t = await buildTestApp(streamEnv(sink))
    const config = t.config.auditStream!
    const standby = createAuditStream({ ...config, outbox: t.deps.stores.audit.outbox, logger: quiet, holder: 'standby' })
    standby.start()
    try {
      const family = uniqueFamily('lease')
      const expected = Array.from({ length: 30 }, (_, i) => `e${i}`)
      for (const target of expected) {
        await t.deps.audit.record({ action: family, target })
        if (target === 'e15') sink.failNext = 2
      }
      await waitFor('every event at the sink', () => arrived(sink, family).length >= expected.length)
      await Bun.sleep(200)
      expect(arrived(sink, family)).toEqual(expected)
      expectNoDuplicates(sink)
      expect(sink.maxInFlight).toBe(1)
      // Exactly one of the two holds the lease.
      const states = [(await t.deps.auditStream!.status()).draining, (await standby.status()).draining]
      expect(states.filter(Boolean)).toHaveLength(1)
    } finally {
      await standby.stop()
      await t.close()
      sink.close()
    }
  })
})
