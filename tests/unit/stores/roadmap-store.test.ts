/** The roadmap store's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { RoadmapItemRow } from '../../../db/schema'
import { phaseRank } from '../../../src/modules/roadmap/store'
import { eachDialect } from '../../helpers/databases'

const item = (fields: Partial<RoadmapItemRow> = {}): RoadmapItemRow => {
  const now = new Date()
  return {
    id: newId(),
    title: 'Item — «unicode» \'quotes\'',
    description: 'A *markdown* description',
    phase: 'now',
    status: 'planned',
    position: 0,
    createdBy: null,
    createdAt: now,
    updatedBy: null,
    updatedAt: now,
    ...fields,
  }
}

eachDialect('roadmap store', (use) => {
  test('a stored item reads back equal; update and remove answer the row, then nothing', async () => {
    const { stores } = use()
    const row = item({ createdBy: 'admin-1' })
    await stores.roadmap.insert(row)
    expect(await stores.roadmap.find(row.id)).toEqual(row)
    const at = new Date(row.updatedAt.getTime() + 1000)
    const updated = await stores.roadmap.update(row.id, { status: 'shipped', updatedBy: 'admin-2', updatedAt: at })
    expect(updated).toEqual({ ...row, status: 'shipped', updatedBy: 'admin-2', updatedAt: at })
    expect(await stores.roadmap.update(newId(), { status: 'shipped' })).toBeUndefined()
    expect(await stores.roadmap.remove(row.id)).toEqual(updated!)
    expect(await stores.roadmap.remove(row.id)).toBeUndefined()
    expect(await stores.roadmap.find(row.id)).toBeUndefined()
  })

  test('pages follow board order (now, next, later; position; id), filter, and continue after a key', async () => {
    const { stores } = use()
    const tag = `board-${newId()}`
    const rows = [
      item({ title: `${tag} later 0`, phase: 'later', position: 0 }),
      item({ title: `${tag} now 1`, phase: 'now', position: 1 }),
      item({ title: `${tag} next 0`, phase: 'next', position: 0, status: 'in_progress' }),
      item({ title: `${tag} now 0`, phase: 'now', position: 0 }),
      item({ title: `${tag} now 1 again`, phase: 'now', position: 1 }),
    ]
    for (const row of rows) await stores.roadmap.insert(row)
    const all = await stores.roadmap.page({ q: tag }, null, 10)
    expect(all.map((r) => r.title)).toEqual([`${tag} now 0`, `${tag} now 1`, `${tag} now 1 again`, `${tag} next 0`, `${tag} later 0`])
    const first = await stores.roadmap.page({ q: tag }, null, 2)
    const last = first[1]!
    const rest = await stores.roadmap.page({ q: tag }, { rank: phaseRank(last.phase), position: last.position, id: last.id }, 10)
    expect([...first, ...rest].map((r) => r.id)).toEqual(all.map((r) => r.id))
    expect((await stores.roadmap.page({ q: tag, phase: 'now' }, null, 10)).map((r) => r.phase)).toEqual(['now', 'now', 'now'])
    expect((await stores.roadmap.page({ q: tag, status: 'in_progress' }, null, 10)).map((r) => r.title)).toEqual([`${tag} next 0`])
  })

  test('text search is case-insensitive over title and description, with LIKE wildcards taken literally', async () => {
    const { stores } = use()
    const tag = newId().slice(-12)
    await stores.roadmap.insert(item({ title: `Plain ${tag}`, description: 'Nothing special' }))
    await stores.roadmap.insert(item({ title: `Other ${tag}`, description: 'Has 100% of_it' }))
    expect((await stores.roadmap.page({ q: `PLAIN ${tag.toUpperCase()}` }, null, 10)).map((r) => r.title)).toEqual([`Plain ${tag}`])
    expect((await stores.roadmap.page({ q: '100% of_it' }, null, 10)).map((r) => r.title)).toEqual([`Other ${tag}`])
    expect(await stores.roadmap.page({ q: '1_0%' }, null, 10)).toEqual([])
  })

  test('orderOf lists a phase by position then id; setPositions writes them; titles and outline name items', async () => {
    const { stores } = use()
    const phase = `phase-${newId()}`
    const a = item({ phase, position: 5 })
    const b = item({ phase, position: 2 })
    const c = item({ phase, position: 2 })
    for (const row of [a, b, c]) await stores.roadmap.insert(row)
    expect(await stores.roadmap.orderOf(phase)).toEqual([
      { id: b.id, position: 2 },
      { id: c.id, position: 2 },
      { id: a.id, position: 5 },
    ])
    await stores.roadmap.setPositions([
      { id: a.id, position: 0 },
      { id: b.id, position: 1 },
      { id: c.id, position: 2 },
    ])
    expect((await stores.roadmap.orderOf(phase)).map((r) => r.id)).toEqual([a.id, b.id, c.id])
    expect(await stores.roadmap.titles([])).toEqual([])
    const titled = await stores.roadmap.titles([a.id, c.id])
    expect(titled.map((r) => r.id).sort()).toEqual([a.id, c.id].sort())
    expect((await stores.roadmap.outline()).map((r) => r.id)).toContain(b.id)
    expect(await stores.roadmap.count()).toBeGreaterThanOrEqual(3)
  })

  test('concurrent reorders under lockOrdering never leave two items on one position', async () => {
    const { stores } = use()
    const phase = `race-${newId()}`
    for (let i = 0; i < 6; i++) await stores.roadmap.insert(item({ phase, position: i }))
    // Each transaction moves the last item to the top and renumbers the phase.
    const moveLastToTop = () =>
      stores.transaction(async (tx) => {
        await tx.roadmap.lockOrdering()
        const order = await tx.roadmap.orderOf(phase)
        const ids = [order[order.length - 1]!.id, ...order.slice(0, -1).map((r) => r.id)]
        await tx.roadmap.setPositions(ids.map((id, position) => ({ id, position })))
      })
    await Promise.all(Array.from({ length: 8 }, moveLastToTop))
    const positions = (await stores.roadmap.orderOf(phase)).map((r) => r.position)
    expect(positions).toEqual([0, 1, 2, 3, 4, 5])
  })

  test('a transaction that throws leaves no row behind', async () => {
    const { stores } = use()
    const row = item()
    await expect(
      stores.transaction(async (tx) => {
        await tx.roadmap.insert(row)
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.roadmap.find(row.id)).toBeUndefined()
  })
})
