/**
 * The status store's contract, on libsql and on PostgreSQL: one sample per
 * component and slot (a second write of the slot is skipped and not counted
 * twice in its day), uptime counts, the newest sample per component, pruning,
 * and incidents with their updates in order.
 */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { IncidentRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const MIN = 60_000
const base = Date.UTC(2026, 10, 30, 23, 58)
const at = (minutes: number) => new Date(base + minutes * MIN)

const incident = (fields: Partial<IncidentRow> = {}): IncidentRow => ({
  id: newId(),
  title: 'Councils slow',
  kind: 'incident',
  impact: 'minor',
  components: 'queue,worker',
  status: 'investigating',
  startsAt: new Date(),
  endsAt: null,
  resolvedAt: null,
  createdBy: null,
  createdAt: new Date(),
  updatedAt: new Date(),
  ...fields,
})

eachDialect('status store', (use) => {
  test('samples: a slot written twice counts once; days sum per UTC day; uptime counts ok and degraded as up', async () => {
    const { stores } = use()
    const first = [
      { component: 'database', at: at(0), status: 'ok' as const, latencyMs: 2 },
      { component: 'database', at: at(1), status: 'degraded' as const, latencyMs: 1500 },
      { component: 'worker', at: at(1), status: 'fail' as const, latencyMs: 1 },
    ]
    expect(await stores.transaction((tx) => tx.status.recordSamples(first))).toBe(3)
    // Another instance probing the same slot, and the next day's first minutes.
    const second = [
      { component: 'database', at: at(1), status: 'ok' as const, latencyMs: 3 },
      { component: 'database', at: at(2), status: 'fail' as const, latencyMs: 2000 },
      { component: 'database', at: at(3), status: 'ok' as const, latencyMs: 2 },
    ]
    expect(await stores.transaction((tx) => tx.status.recordSamples(second))).toBe(2)
    const days = await stores.status.days('2026-11-30')
    expect(days.map(({ component, day, samples, up, degraded }) => ({ component, day, samples, up, degraded }))).toEqual(
      expect.arrayContaining([
        { component: 'database', day: '2026-11-30', samples: 2, up: 2, degraded: 1 },
        { component: 'database', day: '2026-12-01', samples: 2, up: 1, degraded: 0 },
        { component: 'worker', day: '2026-11-30', samples: 1, up: 0, degraded: 0 },
      ]),
    )
    expect(days).toHaveLength(3)
    expect(await stores.status.days('2026-12-01')).toHaveLength(1)
    const uptime = await stores.status.uptimeSince(at(1))
    expect(uptime.sort((a, b) => a.component.localeCompare(b.component))).toEqual([
      { component: 'database', samples: 3, up: 2 },
      { component: 'worker', samples: 1, up: 0 },
    ])
    const latest = await stores.status.latest()
    expect(latest.sort((a, b) => a.component.localeCompare(b.component))).toEqual([
      { component: 'database', at: at(3), status: 'ok', latencyMs: 2 },
      { component: 'worker', at: at(1), status: 'fail', latencyMs: 1 },
    ])
  })

  test('pruning removes old samples in batches and days before the cut', async () => {
    const { stores } = use()
    expect(await stores.status.pruneSamples(at(2), 2)).toBe(2)
    expect(await stores.status.pruneSamples(at(2), 2)).toBe(1)
    expect(await stores.status.pruneSamples(at(2), 2)).toBe(0)
    expect((await stores.status.uptimeSince(at(-100))).reduce((sum, row) => sum + row.samples, 0)).toBe(2)
    expect(await stores.status.pruneDays('2026-12-01')).toBe(2)
    expect((await stores.status.days('2000-01-01')).map((day) => day.day)).toEqual(['2026-12-01'])
  })

  test('incidents: inserted with a first update, updated with more in order; current and list', async () => {
    const { stores } = use()
    const old = incident({ title: 'Old one', resolvedAt: new Date(Date.now() - 30 * 86_400_000), status: 'resolved', startsAt: new Date(Date.now() - 31 * 86_400_000) })
    const open = incident()
    const first = { id: newId(), incidentId: open.id, status: 'investigating', message: 'Looking', at: new Date(Date.now() - 1000), createdBy: null }
    await stores.transaction(async (tx) => {
      await tx.status.insertIncident(old, { id: newId(), incidentId: old.id, status: 'resolved', message: 'Fixed', at: old.resolvedAt!, createdBy: null })
      await tx.status.insertIncident(open, first)
    })
    const later = { id: newId(), incidentId: open.id, status: 'identified', message: 'Found it', at: new Date(), createdBy: null }
    const updated = await stores.status.updateIncident(open.id, { status: 'identified', updatedAt: later.at }, later)
    expect(updated?.status).toBe('identified')
    expect(await stores.status.updateIncident(newId(), { status: 'resolved' }, null)).toBeUndefined()
    const found = await stores.status.incident(open.id)
    expect(found?.components).toBe('queue,worker')
    expect(found?.updates.map((u) => u.message)).toEqual(['Looking', 'Found it'])
    const current = await stores.status.current(new Date(Date.now() - 7 * 86_400_000), 10)
    expect(current.map((row) => row.id)).toEqual([open.id])
    const page = await stores.status.list(null, 1)
    expect(page.map((row) => row.id)).toEqual([open.id])
    expect((await stores.status.list(open.id, 10)).map((row) => row.id)).toEqual([old.id])
  })
})
