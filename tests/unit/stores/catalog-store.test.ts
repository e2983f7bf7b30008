/** The catalog store's contract (agents and palettes), on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import type { AgentRow, PaletteRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'

const at = new Date('2026-01-02T03:04:05.678Z')
const agent = (name: string, fields: Partial<AgentRow> = {}): AgentRow => ({
  name,
  description: `The ${name}: «ünïcode» 'quotes'`,
  persona: `You are the ${name}.`,
  model: 'offline-small',
  temperature: 0.25,
  createdAt: at,
  updatedAt: at,
  ...fields,
})
const palette = (id: string, agentNames: string[], fields: Partial<PaletteRow> = {}): PaletteRow => ({
  id,
  name: `Palette ${id}`,
  description: 'A palette',
  agentNames,
  chair: agentNames[0]!,
  priceCents: 900,
  createdAt: at,
  updatedAt: at,
  ...fields,
})

eachDialect('catalog store', (use) => {
  test('inserted agents and palettes read back equal, one by one and all together', async () => {
    const { stores } = use()
    const agents = [agent('cat-b'), agent('cat-a', { temperature: 0.5, model: 'offline-large' })]
    const palettes = [palette('cat-p1', ['cat-a', 'cat-b'])]
    await stores.catalog.insertMissing(agents, palettes)
    expect(await stores.catalog.agent('cat-a')).toEqual(agents[1]!)
    expect(await stores.catalog.agent('cat-missing')).toBeUndefined()
    expect(await stores.catalog.palette('cat-p1')).toEqual(palettes[0]!)
    expect(await stores.catalog.palette('cat-missing')).toBeUndefined()
    const everything = await stores.catalog.everything()
    expect(everything.agents).toEqual(expect.arrayContaining(agents))
    expect(everything.palettes).toEqual(expect.arrayContaining(palettes))
  })

  test('insertMissing never overwrites: an existing agent or palette keeps its edits, new ones are added', async () => {
    const { stores } = use()
    await stores.catalog.insertMissing([agent('keep-a', { persona: 'edited by an admin' })], [palette('keep-p', ['keep-a'], { priceCents: 0 })])
    await stores.catalog.insertMissing([agent('keep-a'), agent('keep-b')], [palette('keep-p', ['keep-a']), palette('keep-q', ['keep-b'])])
    expect((await stores.catalog.agent('keep-a'))?.persona).toBe('edited by an admin')
    expect(await stores.catalog.agent('keep-b')).toEqual(agent('keep-b'))
    expect((await stores.catalog.palette('keep-p'))?.priceCents).toBe(0)
    expect(await stores.catalog.palette('keep-q')).toEqual(palette('keep-q', ['keep-b']))
    await stores.catalog.insertMissing([], [])
  })

  test('concurrent reads (a burst of runs; shared statements outside transactions) each get their own answer, and see an edit made before they asked', async () => {
    const { stores } = use()
    await stores.catalog.insertMissing([agent('burst-a'), agent('burst-b')], [palette('burst-p', ['burst-a']), palette('burst-q', ['burst-b'], { priceCents: 0 })])
    const [p, q, none, a, b, all1, all2] = await Promise.all([
      stores.catalog.palette('burst-p'),
      stores.catalog.palette('burst-q'),
      stores.catalog.palette('burst-none'),
      stores.catalog.agent('burst-a'),
      stores.catalog.agent('burst-b'),
      stores.catalog.everything(),
      stores.catalog.everything(),
    ])
    expect([p?.id, q?.priceCents, none, a?.name, b?.name]).toEqual(['burst-p', 0, undefined, 'burst-a', 'burst-b'])
    expect(all1.palettes.map((row) => row.id)).toEqual(expect.arrayContaining(['burst-p', 'burst-q']))
    all1.palettes.sort((x, y) => y.id.localeCompare(x.id)) // one caller sorting its arrays leaves the other's alone
    expect(all2.palettes.map((row) => row.id)).not.toEqual(all1.palettes.map((row) => row.id))
    await stores.catalog.updatePalette('burst-q', { priceCents: 500, updatedAt: new Date() })
    const after = await Promise.all([stores.catalog.palette('burst-q'), stores.catalog.everything()])
    expect(after[0]?.priceCents).toBe(500)
    expect(after[1].palettes.find((row) => row.id === 'burst-q')?.priceCents).toBe(500)
  })

  test('agentsPage walks agents by name: `limit` at a time after `after`', async () => {
    const { stores } = use()
    const names = ['page-d', 'page-a', 'page-c', 'page-b', 'page-e']
    await stores.catalog.insertMissing(names.map((name) => agent(name)), [])
    const walked: string[] = []
    let after: string | null = 'page-'
    for (;;) {
      const page: AgentRow[] = await stores.catalog.agentsPage(after, 2)
      const ours = page.filter((row) => row.name.startsWith('page-'))
      walked.push(...ours.map((row) => row.name))
      if (page.length < 2 || ours.length < page.length) break
      after = page.at(-1)!.name
    }
    expect(walked).toEqual([...names].sort())
    const first = await stores.catalog.agentsPage(null, 1)
    expect(first).toHaveLength(1)
  })

  test('inserts inside a transaction that throws are rolled back', async () => {
    const { stores } = use()
    await expect(
      stores.transaction(async (tx) => {
        await tx.catalog.insertMissing([agent('rolled-back')], [palette('rolled-back', ['rolled-back'])])
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.catalog.agent('rolled-back')).toBeUndefined()
    expect(await stores.catalog.palette('rolled-back')).toBeUndefined()
  })
})
