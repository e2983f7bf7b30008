/** The data walk's store contract (src/modules/data/store.ts), on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { JobRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'
import { sessionRow } from '../../helpers/rows'

const session = (userId: string, createdAt = new Date()) => sessionRow(userId, { question: 'Q?', createdAt, updatedAt: createdAt })

const job = (userId: string, sessionId: string | null, input: Record<string, unknown> | null = null, createdAt = new Date()): JobRow => ({
  id: newId(),
  kind: sessionId ? 'council' : 'agent',
  userId,
  sessionId,
  status: 'succeeded',
  stage: null,
  progress: 100,
  requestId: null,
  role: 'user',
  idempotencyKey: null,
  input,
  output: null,
  error: null,
  attempts: 1,
  cancelRequested: false,
  createdAt,
  startedAt: null,
  finishedAt: null,
  heartbeatAt: null,
})

eachDialect('data store', (use) => {
  test('plans: every table of the schema, with its references read off the column names', () => {
    const { plans } = use().stores.data
    const plan = (name: string) => plans.find((candidate) => candidate.name === name)!
    const refs = (name: string) => plan(name).refs.map((ref) => `${ref.column.name}->${ref.target}:${ref.role}`).sort()
    expect(plans.map((p) => p.name)).toContain('erased_identities')
    expect(refs('jobs')).toEqual(['session_id->sessions:owner', 'user_id->users:owner'])
    expect(refs('job_logs')).toEqual(['job_id->jobs:owner'])
    expect(refs('tickets')).toEqual(['created_by->users:owner', 'updated_by->users:mention'])
    expect(refs('payments')).toEqual(['palette_id->palettes:owner', 'user_id->users:mention'])
    expect(refs('audit_events')).toEqual([])
    expect(plan('jobs').objectColumns.map((c) => c.name).sort()).toEqual(['idempotency_key', 'input', 'output'])
    expect(plan('budget_reservations').primaryKey?.name).toBe('job_id')
  })

  test('count: rows of every table', async () => {
    const { stores } = use()
    const before = await stores.data.count()
    expect(Object.keys(before).sort()).toEqual(stores.data.plans.map((p) => p.name).sort())
    await stores.sessions.insert(session(newId()))
    expect((await stores.data.count()).sessions).toBe(before.sessions! + 1)
  })

  test('ids, pick (with the storage keys in the rows), remove', async () => {
    const { stores } = use()
    const owner = newId()
    const s = session(owner)
    await stores.sessions.insert(s)
    const key = `documents/${newId()}`
    const jobs = [job(owner, s.id, { document: { key }, other: 'documents/not-a-key' }), job(owner, s.id), job(owner, s.id)]
    for (const row of jobs) await stores.jobs.insert(row)
    expect((await stores.data.ids('jobs', 'session_id', [s.id])).sort()).toEqual(jobs.map((row) => row.id).sort())
    expect(await stores.data.ids('sessions', 'user_id', [owner, newId()])).toEqual([s.id])

    const first = await stores.data.pick('jobs', 'session_id', [s.id], 2)
    expect(first.ids).toEqual(jobs.slice(0, 2).map((row) => row.id))
    expect(first.objectKeys).toEqual([key])
    expect(await stores.data.remove('jobs', first.ids)).toBe(2)
    expect((await stores.data.pick('jobs', 'session_id', [s.id], 2)).ids).toEqual([jobs[2]!.id])
    expect(await stores.data.removeWhere('jobs', 'session_id', [s.id])).toBe(1)
    expect(await stores.data.remove('jobs', [newId()])).toBe(0)
    expect(() => stores.data.ids('nope', 'x', [])).toThrow('no table "nope"')
  })

  test('rewrite replaces a value in at most `limit` rows; olderThan finds the oldest, optionally only where a column is null', async () => {
    const { stores } = use()
    const owner = newId()
    const long = new Date('2001-01-01T00:00:00Z')
    const old = [session(owner, long), session(owner, new Date('2001-01-02T00:00:00Z'))]
    const recent = session(owner)
    for (const row of [...old, recent]) await stores.sessions.insert(row)
    expect(await stores.data.rewrite('sessions', 'user_id', owner, 'erased:x', 2)).toBe(2)
    expect(await stores.data.rewrite('sessions', 'user_id', owner, 'erased:x', 2)).toBe(1)
    expect(await stores.data.ids('sessions', 'user_id', [owner])).toEqual([])

    const cutoff = new Date('2001-06-01T00:00:00Z')
    expect((await stores.data.olderThan('sessions', 'created_at', cutoff, 10)).filter((id) => [...old, recent].some((r) => r.id === id))).toEqual(old.map((r) => r.id))
    const agentJob = job(owner, null, null, long)
    const councilJob = job(owner, old[0]!.id, null, long)
    await stores.jobs.insert(agentJob)
    await stores.jobs.insert(councilJob)
    const orphans = await stores.data.olderThan('jobs', 'created_at', cutoff, 100, { nullColumn: 'session_id' })
    expect(orphans).toContain(agentJob.id)
    expect(orphans).not.toContain(councilJob.id)
  })

  test('rows: by column name, keyset by primary key, values in their types', async () => {
    const { stores } = use()
    const owner = newId()
    const rows = [session(owner), session(owner), session(owner)]
    for (const row of rows) await stores.sessions.insert(row)
    const page = await stores.data.rows('sessions', { column: 'user_id', values: [owner] }, null, 2)
    expect(page.map((row) => row.id)).toEqual(rows.slice(0, 2).map((row) => row.id))
    expect(page[0]).toMatchObject({ user_id: owner, question: 'Q?', partial: false, tokens_in: 0, deleted_at: null })
    expect(page[0]!.created_at).toBeInstanceOf(Date)
    expect((await stores.data.rows('sessions', { column: 'user_id', values: [owner] }, String(page[1]!.id), 2)).map((row) => row.id)).toEqual([rows[2]!.id])
  })

  test('erasures: recorded, refreshed, read, and forgotten when old', async () => {
    const { erasures } = use().stores.data
    const subject = `s-${newId()}`
    expect(await erasures.erasedAt(subject)).toBeNull()
    await erasures.record(subject, new Date('2001-01-01T00:00:00Z'))
    await erasures.record(subject, new Date('2001-01-02T00:00:00Z'))
    expect(await erasures.erasedAt(subject)).toEqual(new Date('2001-01-02T00:00:00Z'))
    expect(await erasures.purge(new Date('2001-01-03T00:00:00Z'))).toBeGreaterThanOrEqual(1)
    expect(await erasures.erasedAt(subject)).toBeNull()
  })
})
