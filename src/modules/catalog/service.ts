/** Seeding the catalog: the default agents and palettes (src/council/catalog.ts) that are missing. */
import { AGENTS, PALETTES } from '../../council/catalog'
import type { CatalogStore } from './store'

/**
 * Inserts the default agents and palettes that are missing; never overwrites an admin's edits.
 * @example
 * await ensureCatalog(stores.catalog)
 */
export async function ensureCatalog(store: CatalogStore): Promise<void> {
  const now = new Date()
  await store.insertMissing(
    AGENTS.map((agent) => ({ ...agent, createdAt: now, updatedAt: now })),
    PALETTES.map((palette) => ({ ...palette, createdAt: now, updatedAt: now })),
  )
}
