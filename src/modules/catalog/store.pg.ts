/** Agents and palettes on PostgreSQL. */
import { asc, eq, gt, inArray } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import type { AgentRow, PaletteRow } from '../../../db/schema'
import { agents, palettes } from '../../../db/schema/pg'
import type { CatalogStore } from './store'

export interface PgCatalogStoreOptions {
  /** Share reads between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgCatalogStore(db: PgExec, { coalesce }: PgCatalogStoreOptions = { coalesce: false }): CatalogStore {
  const readAll = async () => {
    const [agentRows, paletteRows] = await Promise.all([db.select().from(agents), db.select().from(palettes)])
    return { agents: agentRows, palettes: paletteRows }
  }
  // A burst of runs reads the same palette and catalog for each request: requests that arrive while a read is in
  // flight share the next one (db/coalesce.ts), so each still sees every change committed before it asked.
  const paletteTogether = createCoalescer<string, PaletteRow | undefined>(async (ids) => {
    const rows = await db.select().from(palettes).where(inArray(palettes.id, [...new Set(ids)]))
    return ids.map((id) => rows.find((row) => row.id === id))
  })
  const agentTogether = createCoalescer<string, AgentRow | undefined>(async (names) => {
    const rows = await db.select().from(agents).where(inArray(agents.name, [...new Set(names)]))
    return names.map((name) => rows.find((row) => row.name === name))
  })
  const everythingTogether = createCoalescer<null, { agents: AgentRow[]; palettes: PaletteRow[] }>(async (items) => {
    const all = await readAll()
    // Each caller its own arrays (some sort them in place); the rows are shared.
    return items.map(() => ({ agents: [...all.agents], palettes: [...all.palettes] }))
  })
  return {
    async agent(name) {
      if (coalesce) return agentTogether.add(name)
      return (await db.select().from(agents).where(eq(agents.name, name)).limit(1))[0]
    },
    async palette(id) {
      if (coalesce) return paletteTogether.add(id)
      return (await db.select().from(palettes).where(eq(palettes.id, id)).limit(1))[0]
    },
    agentsPage(after, limit) {
      return db
        .select()
        .from(agents)
        .where(after ? gt(agents.name, after) : undefined)
        .orderBy(asc(agents.name))
        .limit(limit)
    },
    everything() {
      return coalesce ? everythingTogether.add(null) : readAll()
    },
    async insertPalette(row) {
      return (await db.insert(palettes).values(row).onConflictDoNothing().returning({ id: palettes.id })).length > 0
    },
    async updatePalette(id, fields) {
      return (await db.update(palettes).set(fields).where(eq(palettes.id, id)).returning())[0]
    },
    async insertMissing(agentRows, paletteRows) {
      if (agentRows.length > 0) await db.insert(agents).values([...agentRows]).onConflictDoNothing()
      if (paletteRows.length > 0) await db.insert(palettes).values([...paletteRows]).onConflictDoNothing()
    },
  }
}
