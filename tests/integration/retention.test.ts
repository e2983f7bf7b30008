/**
 * Retention (SPEC §5), on libsql and PostgreSQL: after a pass nothing older
 * than its period is left — sessions with everything that belongs to them in
 * any table (seeded generically, tests/helpers/data-walk.ts) and their storage
 * objects, agent jobs, documents, job log lines, audit events — and nothing
 * younger is touched; 0 keeps; one pass at a time across instances; each purge
 * audited with counts only. Then the schedules: a timer in the inline runner, a
 * repeatable job run by a real `bun run worker` with BullMQ.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { newId } from '../../db/client'
import type { JobRow, SessionRow } from '../../db/schema'
import { createRetention, RETENTION_LEASE } from '../../src/modules/retention/service'
import { retentionTask } from '../../src/modules/retention/schedule'
import { allObjects, allRows, seedEveryTable } from '../helpers/data-walk'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { idle } from './council-support'
import { describeOnPostgres, DIALECT, freshUser, useApp } from './support'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
const PERIODS = { SESSION_RETENTION_DAYS: '30', DOCUMENT_RETENTION_DAYS: '10', JOB_LOG_RETENTION_DAYS: '7', AUDIT_RETENTION_DAYS: '90', RETENTION_INTERVAL_MS: '0', RETENTION_BATCH: '2' }

const sessionRow = (userId: string, createdAt: Date): SessionRow => ({
  id: newId(), userId, question: 'Old question', paletteId: 'default', status: 'succeeded', stage: 'synthesis', partial: false,
  tokensIn: 1, tokensOut: 1, costMicroUsd: 1, error: null, webSearch: false, createdAt, updatedAt: createdAt, deletedAt: null,
})
const jobRow = (userId: string, sessionId: string | null, createdAt: Date): JobRow => ({
  id: newId(), kind: sessionId ? 'council' : 'agent', userId, sessionId, status: 'succeeded', stage: null, progress: 100, requestId: null,
  role: 'user', idempotencyKey: null, input: null, output: null, error: null, attempts: 1, cancelRequested: false, createdAt,
  startedAt: createdAt, finishedAt: createdAt, heartbeatAt: null,
})

/** An old session with a job, an old agent job, each owning a row in every table that can belong to them. */
async function seedOld(t: TestApp, userId: string) {
  const session = sessionRow(userId, ago(40))
  const job = jobRow(userId, session.id, ago(40))
  const agentJob = jobRow(userId, null, ago(40))
  await t.deps.stores.sessions.insert(session)
  await t.deps.stores.jobs.insert(job)
  await t.deps.stores.jobs.insert(agentJob)
  const owned = await seedEveryTable(t.deps, { sessions: session.id, jobs: job.id }, 'old', { at: ago(40) })
  const agentOwned = await seedEveryTable(t.deps, { jobs: agentJob.id }, 'old-agent', { at: ago(40) })
  const ids = [session.id, job.id, agentJob.id, ...Object.values(owned.rows).flat(), ...Object.values(agentOwned.rows).flat()]
  return { ids, objects: [...owned.objects, ...agentOwned.objects] }
}

describe(`retention (${DIALECT === 'pg' ? 'PostgreSQL' : 'libsql'})`, () => {
    const app = useApp(PERIODS)

    test('a pass leaves nothing past its period, in any table or in storage, and everything younger', async () => {
      const t = app()
      const user = freshUser('keeper')
      const created = (await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Recent question' } })).body
      const run = (await t.json('POST', `/api/v1/sessions/${created.id}/run`, { user })).body
      await idle(t)
      const userId = (await t.json('GET', '/api/v1/me', { user })).body.id
      const old = await seedOld(t, userId)
      const recent = await seedEveryTable(t.deps, { sessions: created.id, jobs: run.job_id }, 'recent')
      // A document of a recent session that is itself past the document period (when the schema has documents).
      const hasDocuments = t.deps.stores.data.plans.some((plan) => plan.name === 'documents')
      const oldDocument = hasDocuments ? await seedEveryTable(t.deps, { sessions: created.id }, 'old-document', { at: ago(20) }) : null
      await t.deps.stores.jobs.appendLogs([
        { id: newId(), jobId: run.job_id, ts: ago(8), level: 'info', msg: 'old line', requestId: null, stage: null, data: null },
      ])
      const { toAuditRow } = await import('../../plugins/audit')
      await t.deps.stores.audit.append([toAuditRow({ action: 'old.event', actor: 'x@example.com' }, ago(100))])
      const recentLogs = (await t.deps.stores.jobs.logs(run.job_id, null, 1000)).filter((line) => line.ts > ago(1)).length
      expect(recentLogs).toBeGreaterThan(3)

      const report = await t.deps.retention.run()
      expect(report.skipped).toBeUndefined()
      expect(report.sessions!.tables.sessions).toBe(1)
      expect(report.sessions!.tables.jobs).toBeGreaterThanOrEqual(2)
      expect(report.sessions!.objects).toBeGreaterThanOrEqual(old.objects.length)
      // The old line above, and with documents the line seeded for the old document's job (20 days old).
      expect(report.job_logs!.tables.job_logs).toBe(hasDocuments ? 2 : 1)
      expect(report.audit_events!.tables.audit_events).toBeGreaterThanOrEqual(1)
      if (hasDocuments) expect(report.documents!.tables.documents).toBeGreaterThanOrEqual(1)
      else expect(report.documents).toBeUndefined()

      const rows = await allRows(t.deps)
      for (const [table, list] of Object.entries(rows)) {
        if (table === 'audit_events') continue
        const text = JSON.stringify(list)
        for (const id of old.ids) if (text.includes(id)) throw new Error(`${table} still holds ${id}, past its period`)
        for (const id of Object.values(oldDocument?.rows.documents ?? [])) if (text.includes(id)) throw new Error(`${table} still holds document ${id}`)
      }
      for (const [table, ids] of Object.entries(recent.rows)) {
        const kept = JSON.stringify(rows[table])
        for (const id of ids) expect(kept).toContain(id)
      }
      const objects = await allObjects(t.deps.storage)
      for (const key of old.objects) expect(objects).not.toContain(key)
      for (const key of recent.objects) expect(objects).toContain(key)
      expect(rows.job_logs!.filter((line) => (line.ts as Date) < ago(7))).toEqual([])
      expect(rows.job_logs!.filter((line) => line.job_id === run.job_id)).toHaveLength(recentLogs)
      expect(rows.audit_events!.filter((event) => (event.at as Date) < ago(90))).toEqual([])
      expect((await t.json('GET', `/api/v1/sessions/${created.id}/results`, { user })).status).toBe(200)

      // Audited with counts and cut-offs, never content.
      const purges = rows.audit_events!.filter((event) => event.action === 'retention.purge')
      expect(purges.map((event) => event.target).sort()).toEqual(['retention:job_logs', 'retention:sessions', ...(hasDocuments ? ['retention:documents'] : [])].sort())
      const sessions = purges.find((event) => event.target === 'retention:sessions')!
      expect(sessions.metadata).toEqual(report.sessions as unknown as Record<string, unknown>)
      expect(JSON.stringify(purges)).not.toContain('Old question')
      expect(rows.audit_events!.some((event) => event.action === 'audit.purge')).toBe(true)

      // A second pass finds nothing more.
      const again = await t.deps.retention.run()
      expect(again.sessions!.tables).toEqual({})
      expect(again.job_logs!.tables).toEqual({})
    }, 30_000)

    test('a period of 0 keeps that data forever', async () => {
      const t = app()
      const userId = newId()
      const old = await seedOld(t, userId)
      const keepAll = createRetention({ ...t.deps, retention: { ...t.config.retention, sessionDays: 0, documentDays: 0, jobLogDays: 0, auditDays: 0 } })
      // Read events and usage of earlier requests are written in batches; let them land before counting
      // (a usage flush between the two counts made this test flaky).
      await t.deps.audit.flush()
      await t.deps.usage?.close() // flushes, and no timed flush can fall between the counts
      const before = await t.deps.stores.data.count()
      const report = await keepAll.run()
      expect(report).toEqual({ erased_identities: 0 })
      expect(await t.deps.stores.data.count()).toEqual(before)
      const objects = await allObjects(t.deps.storage)
      for (const key of old.objects) expect(objects).toContain(key)
      await t.deps.retention.run()
    })

    test('one pass at a time across instances: the lease holder runs, the others skip', async () => {
      const t = app()
      const outbox = t.deps.stores.audit.outbox
      expect(await outbox.acquireLease(RETENTION_LEASE, 'another-instance', 60_000)).toBe(true)
      expect(await t.deps.retention.run()).toEqual({ skipped: 'locked' })
      await outbox.releaseLease(RETENTION_LEASE, 'another-instance')
      // Instance A takes the lease and (through its stores) keeps it until B has tried: B must skip, whatever the timing.
      let acquired!: () => void
      let bTried!: () => void
      const aHolds = new Promise<void>((resolve) => (acquired = resolve))
      const bFinished = new Promise<void>((resolve) => (bTried = resolve))
      const holdingOutbox = {
        ...outbox,
        acquireLease: async (...args: Parameters<typeof outbox.acquireLease>) => {
          const ok = await outbox.acquireLease(...args)
          if (ok) acquired()
          return ok
        },
        releaseLease: async (...args: Parameters<typeof outbox.releaseLease>) => {
          await bFinished
          return outbox.releaseLease(...args)
        },
      }
      // The app's stores with A's outbox in place (stores' fields are getters: defineProperty, not assignment).
      const stores = Object.defineProperty(Object.create(t.deps.stores), 'audit', { value: { ...t.deps.stores.audit, outbox: holdingOutbox } })
      const running = createRetention({ ...t.deps, stores, retention: t.config.retention }).run()
      await aHolds
      const b = await t.deps.retention.run()
      bTried()
      const a = await running
      expect(b).toEqual({ skipped: 'locked' })
      expect(a.skipped).toBeUndefined()
      // Once A let go, the next pass runs.
      expect((await t.deps.retention.run()).skipped).toBeUndefined()
    })
  })

describe('retention schedules', () => {
  const workers: WorkerProcess[] = []
  const apps: TestApp[] = []
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
    for (const t of apps.splice(0)) await t.close()
  })

  test('in-process runner: a timer runs a pass every RETENTION_INTERVAL_MS', async () => {
    const t = await buildTestApp({ ...PERIODS, RETENTION_INTERVAL_MS: '1000' })
    apps.push(t)
    const old = await seedOld(t, newId())
    await t.deps.queue.schedule(retentionTask(t.config, t.deps.retention)!)
    const deadline = Date.now() + 10_000
    while (!t.logs.some((line) => line.msg === 'retention pass finished') && Date.now() < deadline) await Bun.sleep(50)
    expect(await t.deps.stores.data.ids('sessions', 'id', [old.ids[0]!])).toEqual([])
  })

})

describeOnPostgres('retention schedules on BullMQ', () => {
  const workers: WorkerProcess[] = []
  const apps: TestApp[] = []
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
    for (const t of apps.splice(0)) await t.close()
  })

  test('BullMQ: a repeatable job that a real worker runs (PostgreSQL, Redis)', async () => {
    const queue = `test-${crypto.randomUUID().slice(0, 8)}`
    const redis = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
    const t = await buildTestApp({ ...PERIODS, JOBS_BACKEND: 'bullmq', REDIS_URL: redis, JOBS_QUEUE: queue }, { dialect: 'pg' })
    apps.push(t)
    const old = await seedOld(t, newId())
    const worker = startWorker({ ...PERIODS, RETENTION_INTERVAL_MS: '1000', DATABASE_URL: t.config.db.url, REDIS_URL: redis, JOBS_QUEUE: queue })
    workers.push(worker)
    await worker.ready
    const deadline = Date.now() + 15_000
    const purged = async () => (await t.deps.stores.data.ids('sessions', 'id', [old.ids[0]!])).length === 0
    // The worker's log line reaches its stdout a moment after the rows are gone.
    while (!((await purged()) && worker.output().includes('retention pass finished')) && Date.now() < deadline) await Bun.sleep(100)
    expect(await purged()).toBe(true)
    expect(worker.output()).toContain('retention pass finished')
    await t.deps.queue.unschedule('retention')
  }, 30_000)
})
