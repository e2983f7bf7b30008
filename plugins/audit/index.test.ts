/**
 * The audit plugin on its own: the log (batching, flush order, redaction,
 * purge) and the SIEM stream (batches, backoff, lease, readiness), over an
 * in-memory store and a local HTTP sink. The SQL stores have their contract
 * suite (tests/unit/stores/audit-store.test.ts); the whole app path is
 * tests/integration/audit-stream.test.ts.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import type { AuditEventRow, AuditOutboxRow } from '../../db/schema'
import { createLogger } from '../logging/logger'
import { auditStreamReadiness, createAuditLog, createAuditStream, redactMetadata, toAuditJson, type AuditStore, type AuditStreamOptions } from '.'

/** The store contract kept in arrays: enough to watch what the log and the stream do. */
function memoryStore() {
  const events: AuditEventRow[] = []
  const outbox: AuditOutboxRow[] = []
  const leases = new Map<string, { holder: string; until: number }>()
  const appends: Array<{ rows: number; stream: boolean }> = []
  let seq = 0
  let failAppends = 0
  const store: AuditStore = {
    async append(rows, { stream = false } = {}) {
      await Bun.sleep(1)
      if (failAppends > 0 && failAppends--) throw new Error('database unavailable')
      appends.push({ rows: rows.length, stream })
      events.push(...rows)
      if (stream) for (const row of rows) outbox.push({ seq: ++seq, eventId: row.id, payload: JSON.stringify(toAuditJson(row)), createdAt: row.at })
    },
    async deleteBefore(before, limit) {
      const doomed = events.filter((row) => row.at < before).slice(0, limit)
      for (const row of doomed) events.splice(events.indexOf(row), 1)
      return doomed.length
    },
    async list(query) {
      return [...events].sort((a, b) => b.id.localeCompare(a.id)).slice(0, query.limit)
    },
    mentioning: async () => [],
    rewrite: async () => {},
    outbox: {
      take: async (limit) => outbox.slice(0, limit),
      async remove(seqs) {
        for (const s of seqs) {
          const at = outbox.findIndex((entry) => entry.seq === s)
          if (at >= 0) outbox.splice(at, 1)
        }
      },
      backlog: async () => ({ count: outbox.length, oldestAt: outbox[0]?.createdAt ?? null }),
      async acquireLease(name, holder, ttlMs) {
        const lease = leases.get(name)
        if (lease && lease.holder !== holder && lease.until > Date.now()) return false
        leases.set(name, { holder, until: Date.now() + ttlMs })
        return true
      },
      async releaseLease(name, holder) {
        if (leases.get(name)?.holder === holder) leases.delete(name)
      },
    },
  }
  return { store, events, outbox, leases, appends, failNextAppends: (n: number) => (failAppends = n) }
}

const logged: Array<Record<string, unknown>> = []
const logger = createLogger({ level: 'debug', sink: (line) => logged.push(JSON.parse(line)) })
afterEach(() => {
  logged.length = 0
})

describe('audit log', () => {
  test('record writes one event at once, with every field and redacted metadata', async () => {
    const { store, events } = memoryStore()
    const audit = createAuditLog({ store, logger })
    await audit.record({ action: 'login', actor: 'a@example.com', role: 'user', ip: '::1', requestId: 'r1', metadata: { password: 'x', tries: 2 } })
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ action: 'login', actor: 'a@example.com', role: 'user', ip: '::1', requestId: 'r1', target: null, sessionId: null, jobId: null })
    expect(events[0]!.metadata).toEqual({ password: '[redacted]', tries: 2 })
    expect(events[0]!.id).toMatch(/^[0-9a-f-]{36}$/)
    await audit.close()
  })

  test('redaction covers secrets and content by key name; no metadata is null', () => {
    const metadata = { password: 1, client_secret: 2, apiKey: 3, api_key: 4, Authorization: 5, cookie: 6, proof: 7, signature: 8, content: 9, text: 10, email: 'kept', count: 11 }
    const redacted = redactMetadata(metadata)!
    for (const key of ['password', 'client_secret', 'apiKey', 'api_key', 'Authorization', 'cookie', 'proof', 'signature', 'content', 'text'])
      expect(redacted[key]).toBe('[redacted]')
    expect(redacted).toMatchObject({ email: 'kept', count: 11 })
    expect(redactMetadata(undefined)).toBeNull()
  })

  test('lone surrogates become U+FFFD at any depth, so PostgreSQL jsonb takes the event (fuzz finding, issue 14)', () => {
    const redacted = redactMetadata({ name: 'a\uD800b', list: ['\uDFFF', { deep: 'x\uD800' }], ['k\uD800']: 1, count: 2 })!
    expect(redacted).toEqual({ name: 'a\uFFFDb', list: ['\uFFFD', { deep: 'x\uFFFD' }], ['k\uFFFD']: 1, count: 2 })
    expect(JSON.stringify(redacted)).not.toMatch(/\\ud[89a-f]/i)
  })

  test('record within a transaction writes through that transaction\'s store only', async () => {
    const root = memoryStore()
    const tx = memoryStore()
    const audit = createAuditLog({ store: root.store, logger })
    await audit.record({ action: 'session.create' }, { audit: tx.store })
    expect(root.events).toEqual([])
    expect(tx.events.map((row) => row.action)).toEqual(['session.create'])
    await audit.close()
  })

  test('recordLater writes full batches at once and the rest on the timer, in order', async () => {
    const { store, events, appends } = memoryStore()
    const audit = createAuditLog({ store, logger, batchSize: 3, flushEveryMs: 500 })
    for (let i = 0; i < 3; i++) audit.recordLater({ action: 'session.read', target: `s${i}` })
    await Bun.sleep(30)
    expect(appends).toEqual([{ rows: 3, stream: false }])
    for (let i = 3; i < 5; i++) audit.recordLater({ action: 'session.read', target: `s${i}` })
    await Bun.sleep(30)
    expect(events).toHaveLength(3)
    await Bun.sleep(600)
    expect(events.map((row) => row.target)).toEqual(['s0', 's1', 's2', 's3', 's4'])
    await audit.close()
  })

  test('a failed batch is put back in front and written by the next flush; the failure is logged', async () => {
    const { store, events, failNextAppends } = memoryStore()
    const audit = createAuditLog({ store, logger, flushEveryMs: 60_000 })
    audit.recordLater({ action: 'a', target: '1' })
    audit.recordLater({ action: 'a', target: '2' })
    failNextAppends(1)
    await audit.flush()
    expect(events).toEqual([])
    expect(logged.some((line) => line.msg === 'audit batch write failed; will retry' && line.events === 2)).toBe(true)
    audit.recordLater({ action: 'a', target: '3' })
    await audit.flush()
    expect(events.map((row) => row.target)).toEqual(['1', '2', '3'])
    await audit.close()
  })

  test('close writes what is still queued', async () => {
    const { store, events } = memoryStore()
    const audit = createAuditLog({ store, logger, flushEveryMs: 60_000 })
    audit.recordLater({ action: 'late' })
    await audit.close()
    expect(events.map((row) => row.action)).toEqual(['late'])
  })

  test('with stream, every write asks the store for outbox entries too', async () => {
    const { store, appends, outbox } = memoryStore()
    const audit = createAuditLog({ store, logger, stream: true, flushEveryMs: 60_000 })
    await audit.record({ action: 'one' })
    audit.recordLater({ action: 'two' })
    await audit.flush()
    expect(appends.every((call) => call.stream)).toBe(true)
    expect(outbox.map((entry) => JSON.parse(entry.payload).action)).toEqual(['one', 'two'])
    await audit.close()
  })

  test('purge deletes in batches up to the cut-off and leaves one audit.purge event; nothing to purge leaves none', async () => {
    const { store, events } = memoryStore()
    const audit = createAuditLog({ store, logger })
    const old = new Date('2001-01-01T00:00:00Z')
    events.push(...Array.from({ length: 5 }, (_, i) => ({ ...toRow(`old-${i}`), at: old })), toRow('recent'))
    expect(await audit.purge(new Date('2002-01-01T00:00:00Z'), { batchSize: 2 })).toBe(5)
    expect(events.map((row) => row.action)).toEqual(['recent', 'audit.purge'])
    expect(events[1]).toMatchObject({ actor: 'retention', metadata: { older_than: '2002-01-01T00:00:00.000Z', deleted: 5 } })
    expect(await audit.purge(new Date('2002-01-01T00:00:00Z'))).toBe(0)
    expect(events).toHaveLength(2)
    await expect(audit.purge(new Date('nope'))).rejects.toThrow('olderThan')
    await audit.close()
  })
})

const toRow = (action: string): AuditEventRow => ({
  id: Bun.randomUUIDv7(),
  at: new Date(),
  actorId: null,
  actor: null,
  role: null,
  action,
  target: null,
  sessionId: null,
  jobId: null,
  requestId: null,
  ip: null,
  metadata: null,
})

/** A local SIEM: answers with the next status of `statuses` (then 204), and keeps what it accepted. */
function sink(statuses: number[] = []) {
  const accepted: string[][] = []
  const times: number[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const lines = (await request.text()).split('\n').filter(Boolean)
      times.push(performance.now())
      const status = statuses.shift() ?? 204
      if (status < 300) accepted.push(lines.map((line) => JSON.parse(line).action))
      return new Response(null, { status, headers: status >= 300 && status < 400 ? { location: '/elsewhere' } : {} })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/`, accepted, times, stop: () => server.stop(true) }
}

const streamOptions = (store: AuditStore, url: string, extra: Partial<AuditStreamOptions> = {}): AuditStreamOptions => ({
  outbox: store.outbox,
  url,
  batchSize: 2,
  timeoutMs: 1000,
  backoffMs: 20,
  backoffMaxMs: 80,
  pollMs: 10,
  maxLagMs: 60_000,
  logger,
  ...extra,
})

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await Bun.sleep(5)
  }
}

describe('audit stream', () => {
  test('delivers the outbox in order, in batches, deleting only what was acknowledged', async () => {
    const memory = memoryStore()
    const siem = sink()
    const audit = createAuditLog({ store: memory.store, logger, stream: true })
    for (const action of ['a', 'b', 'c', 'd', 'e']) await audit.record({ action })
    const stream = createAuditStream(streamOptions(memory.store, siem.url))
    stream.start()
    await until(() => siem.accepted.flat().length === 5)
    expect(siem.accepted).toEqual([['a', 'b'], ['c', 'd'], ['e']])
    await until(() => memory.outbox.length === 0)
    await stream.stop()
    await audit.close()
    siem.stop()
  })

  test('retries non-2xx and redirects with exponential backoff, capped; nothing is lost meanwhile', async () => {
    const memory = memoryStore()
    const siem = sink([500, 503, 302, 500, 500])
    const audit = createAuditLog({ store: memory.store, logger, stream: true })
    await audit.record({ action: 'x' })
    const stream = createAuditStream(streamOptions(memory.store, siem.url))
    stream.start()
    await until(() => memory.outbox.length === 0)
    expect(siem.accepted).toEqual([['x']])
    const gaps = siem.times.slice(1).map((time, i) => time - siem.times[i]!)
    // Each wait is at least 80 % of min(80, 20 × 2^attempt): 16, 32, 64, 64, 64 ms.
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(0.8 * Math.min(80, 20 * 2 ** i) - 2)
    const failures = logged.filter((line) => line.msg === 'audit stream: delivery failed; will retry')
    expect(failures.map((line) => line.error)).toContain('the SIEM answered HTTP 302')
    expect(failures[0]!.error).toBe('the SIEM answered HTTP 500')
    expect(logged.some((line) => line.msg === 'audit stream: the SIEM accepts events again')).toBe(true)
    await stream.stop()
    await audit.close()
    siem.stop()
  })

  test('readiness: ok with details; degraded (throws) once the oldest waiting event is older than maxLagMs', async () => {
    const memory = memoryStore()
    const stream = createAuditStream(streamOptions(memory.store, 'http://127.0.0.1:9/', { maxLagMs: 1000, pollMs: 60_000 }))
    const { audit_stream: check } = auditStreamReadiness(stream)
    expect(check!.required).toBe(false)
    expect(await check!.check()).toMatchObject({ backlog: 0, oldest_age_ms: null, draining_here: false, last_error: null })
    memory.outbox.push({ seq: 1, eventId: 'e', payload: '{}', createdAt: new Date(Date.now() - 5000) })
    await expect(check!.check()).rejects.toThrow('1 audit event(s) wait for the SIEM, the oldest for 5 s')
    await stream.stop()
  })

  test('only the lease holder sends; stop gives the lease up so another takes over at once', async () => {
    const memory = memoryStore()
    const siem = sink()
    const audit = createAuditLog({ store: memory.store, logger, stream: true })
    const first = createAuditStream(streamOptions(memory.store, siem.url, { holder: 'first' }))
    first.start()
    await until(() => memory.leases.get('siem')?.holder === 'first')
    const second = createAuditStream(streamOptions(memory.store, siem.url, { holder: 'second' }))
    second.start()
    await audit.record({ action: 'one' })
    await until(() => siem.accepted.length === 1)
    expect((await second.status()).draining).toBe(false)
    await first.stop(100)
    expect(memory.leases.has('siem')).toBe(false)
    await audit.record({ action: 'two' })
    await until(() => siem.accepted.length === 2)
    expect(memory.leases.get('siem')?.holder).toBe('second')
    expect(siem.accepted).toEqual([['one'], ['two']])
    await second.stop()
    await audit.close()
    siem.stop()
  })

  test('stop delivers what waits within the grace, then leaves the rest in the outbox', async () => {
    const memory = memoryStore()
    const siem = sink()
    const audit = createAuditLog({ store: memory.store, logger, stream: true })
    const stream = createAuditStream(streamOptions(memory.store, siem.url, { pollMs: 60_000 }))
    stream.start()
    for (const action of ['a', 'b', 'c']) await audit.record({ action })
    await stream.stop(1000)
    expect(siem.accepted.flat()).toEqual(['a', 'b', 'c'])
    expect(memory.outbox).toEqual([])
    await audit.close()
    siem.stop()
  })

  test('bad options throw naming the option', () => {
    const { store } = memoryStore()
    expect(() => createAuditStream(streamOptions(store, 'http://x/', { batchSize: 0 }))).toThrow('batchSize')
    expect(() => createAuditStream(streamOptions(store, 'http://x/', { backoffMs: 1.5 }))).toThrow('backoffMs')
    expect(() => createAuditStream(streamOptions(store, 'ftp://x/'))).toThrow('url')
  })
})
