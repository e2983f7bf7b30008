/**
 * Catalog reads shared by concurrent callers (both dialects, on the database
 * itself, never inside a transaction): a burst of runs reads the same palette
 * and the whole catalog for each request, so requests that arrive while a read
 * is in flight share the next one (db/coalesce.ts) and each still sees every
 * change committed before it asked.
 */
import { createCoalescer, type CoalescerOptions } from '../../../db/coalesce'
import type { AgentRow, PaletteRow } from '../../../db/schema'

export interface CatalogReads {
  palettes(ids: string[]): Promise<PaletteRow[]>
  agents(names: string[]): Promise<AgentRow[]>
  all(): Promise<{ agents: AgentRow[]; palettes: PaletteRow[] }>
}

export function sharedCatalogReads(reads: CatalogReads, options: CoalescerOptions = {}) {
  const palette = createCoalescer<string, PaletteRow | undefined>(async (ids) => {
    const rows = await reads.palettes([...new Set(ids)])
    return ids.map((id) => rows.find((row) => row.id === id))
  }, options)
  const agent = createCoalescer<string, AgentRow | undefined>(async (names) => {
    const rows = await reads.agents([...new Set(names)])
    return names.map((name) => rows.find((row) => row.name === name))
  }, options)
  const everything = createCoalescer<null, { agents: AgentRow[]; palettes: PaletteRow[] }>(async (items) => {
    const all = await reads.all()
    // Each caller its own arrays (some sort them in place); the rows are shared.
    return items.map(() => ({ agents: [...all.agents], palettes: [...all.palettes] }))
  }, options)
  return {
    palette: (id: string) => palette.add(id),
    agent: (name: string) => agent.add(name),
    everything: () => everything.add(null),
  }
}
