/** Applies pending migrations for the configured database. Exit 1 on error. */
import { createDatabase } from '../db/client'
import { ensureCatalog } from '../src/modules/catalog/service'
import { createStores } from '../src/stores'
import { loadConfig } from '../src/config'

const config = loadConfig()
const db = createDatabase({ url: config.db.url })
try {
  await db.migrate()
  await ensureCatalog(createStores(db).catalog)
  console.log(`migrate: ${db.dialect} database is up to date; default agents and palettes present`)
} catch (error) {
  console.error(`migrate: failed: ${(error as Error).message}`)
  process.exitCode = 1
} finally {
  await db.close()
}
