/**
 * Agents and palettes. The contract suite is tests/unit/stores/catalog-store.test.ts.
 */
import type { AgentRow, PaletteRow } from '../../../db/schema'

export interface CatalogStore {
  agent(name: string): Promise<AgentRow | undefined>
  palette(id: string): Promise<PaletteRow | undefined>
  /** Agents by name: `limit` of them after `after` (from the first when null). */
  agentsPage(after: string | null, limit: number): Promise<AgentRow[]>
  /** Every agent and palette (a small table; callers cache it). */
  everything(): Promise<{ agents: AgentRow[]; palettes: PaletteRow[] }>
  /** Adds a palette unless one with its id exists; true when added. */
  insertPalette(row: PaletteRow): Promise<boolean>
  /** Changes a palette (updated_at included in `fields`); the row after, or undefined when there is none. */
  updatePalette(id: string, fields: Partial<Omit<PaletteRow, 'id' | 'createdAt'>>): Promise<PaletteRow | undefined>
  /** Inserts the rows whose key is not present yet; never overwrites. */
  insertMissing(agents: readonly AgentRow[], palettes: readonly PaletteRow[]): Promise<void>
}
