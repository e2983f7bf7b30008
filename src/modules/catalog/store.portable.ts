/** Agents and palettes, on either dialect: the same queries run on both (db/portable.ts). */
import { asc, eq, gt, inArray } from 'drizzle-orm'
import type { CoalescerOptions } from '../../../db/coalesce'
import type { Portable } from '../../../db/portable'
import { sharedCatalogReads } from './shared-reads'
import type { CatalogStore } from './store'

interface CatalogStoreOptions {
  /** Share reads between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
  /** How the shared reads gather (db/coalesce.ts): libsql waits a turn of the event loop. */
  coalescer?: CoalescerOptions
}

/**
 * @example
 * const catalog = createCatalogStore(sqlitePortable(db.handle.orm), { coalesce: true, coalescer: { wait: 'turn' } })
 */
export function createCatalogStore({ db, t }: Portable, { coalesce, coalescer }: CatalogStoreOptions): CatalogStore {
  const { agents, palettes } = t
  const readAll = async () => {
    const [agentRows, paletteRows] = await Promise.all([db.select().from(agents), db.select().from(palettes)])
    return { agents: agentRows, palettes: paletteRows }
  }
  // Outside transactions, concurrent reads share statements (./shared-reads.ts).
  const shared = sharedCatalogReads(
    {
      palettes: (ids) => db.select().from(palettes).where(inArray(palettes.id, ids)),
      agents: (names) => db.select().from(agents).where(inArray(agents.name, names)),
      all: readAll,
    },
    coalescer,
  )
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
