/** The catalog store's contract, on libsql and on PostgreSQL: agents by page, palettes read, added once, edited. */
import { expect, test } from 'bun:test'
import type { AgentRow, PaletteRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const now = new Date()
const agent = (name: string): AgentRow => ({ name, description: `${name} «d»`, persona: `You are ${name}.`, model: 'offline-small', temperature: 0.5, createdAt: now, updatedAt: now })
const palette = (id: string, fields: Partial<PaletteRow> = {}): PaletteRow => ({
  id,
  name: `Palette ${id}`,
  description: 'd',
  agentNames: ['a1', 'a2'],
  chair: 'a1',
  priceCents: 0,
  createdAt: now,
  updatedAt: now,
  ...fields,
})

eachDialect('catalog store', (use) => {
  test('insertMissing adds what is absent and never overwrites', async () => {
    const { stores } = use()
    await stores.catalog.insertMissing([agent('a1'), agent('a2')], [palette('p1')])
    await stores.catalog.insertMissing([{ ...agent('a1'), description: 'changed' }], [palette('p1', { priceCents: 500 }), palette('p2')])
    expect((await stores.catalog.agent('a1'))?.description).toBe('a1 «d»')
    expect((await stores.catalog.palette('p1'))?.priceCents).toBe(0)
    expect(await stores.catalog.palette('p2')).toEqual(palette('p2'))
    expect(await stores.catalog.palette('nope')).toBeUndefined()
    const { agents, palettes } = await stores.catalog.everything()
    expect(agents.map((row) => row.name).sort()).toEqual(['a1', 'a2'])
    expect(palettes.map((row) => row.id).sort()).toEqual(['p1', 'p2'])
  })

  test('agentsPage pages by name', async () => {
    const { stores } = use()
    await stores.catalog.insertMissing([agent('b1'), agent('b2'), agent('b3')], [])
    const names = (await stores.catalog.agentsPage('b1', 2)).map((row) => row.name)
    expect(names).toEqual(['b2', 'b3'])
  })

  test('insertPalette adds once; updatePalette changes the given fields and returns the row', async () => {
    const { stores } = use()
    const row = palette('p3', { agentNames: ['a1'], priceCents: 900 })
    expect(await stores.catalog.insertPalette(row)).toBe(true)
    expect(await stores.catalog.insertPalette({ ...row, name: 'again' })).toBe(false)
    expect((await stores.catalog.palette('p3'))?.name).toBe('Palette p3')
    const later = new Date(now.getTime() + 1000)
    const updated = await stores.catalog.updatePalette('p3', { priceCents: 1900, agentNames: ['a2', 'a1'], updatedAt: later })
    expect(updated).toEqual({ ...row, priceCents: 1900, agentNames: ['a2', 'a1'], updatedAt: later })
    expect(await stores.catalog.palette('p3')).toEqual(updated)
    expect(await stores.catalog.updatePalette('missing', { priceCents: 1 })).toBeUndefined()
  })
})
