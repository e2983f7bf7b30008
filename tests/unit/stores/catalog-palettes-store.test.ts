/** The catalog store's contract for admins' palette edits (insertPalette, updatePalette), on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import type { PaletteRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const now = new Date()
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

eachDialect('catalog store: palette edits', (use) => {
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
