/** Agents and palettes on PostgreSQL. */
import { asc, eq, gt, inArray } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { agents, palettes } from '../../../db/schema/pg'
import { sharedCatalogReads } from './shared-reads'
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
  const shared = sharedCatalogReads({
    palettes: (ids) => db.select().from(palettes).where(inArray(palettes.id, ids)),
    agents: (names) => db.select().from(agents).where(inArray(agents.name, names)),
    all: readAll,
  })
  return {
    async agent(name) {
      if (coalesce) return shared.agent(name)
      return (await db.select().from(agents).where(eq(agents.name, name)).limit(1))[0]
    },
    async palette(id) {
      if (coalesce) return shared.palette(id)
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
      return coalesce ? shared.everything() : readAll()
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
