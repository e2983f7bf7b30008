/**
 * The data walk on PostgreSQL: the shared statements (./store.portable.ts) and
 * `removeWhere`, whose delete has no RETURNING and so reports its count the PostgreSQL way.
 */
import { inArray, is } from 'drizzle-orm'
import { getTableConfig, PgTable, type PgColumn } from 'drizzle-orm/pg-core'
import type { PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import * as schema from '../../../db/schema/pg'
import type { DataStore } from './store'
import { chunks, dataQueries } from './store.portable'
import { columnOf, describeSchema, tableOf } from './walk'

const TABLES = describeSchema<PgTable, PgColumn>(schema as Record<string, unknown>, (value): value is PgTable => is(value, PgTable), (table) => getTableConfig(table).name)

/**
 * @example
 * const data = createPgDataStore(db.handle.orm)
 * await data.count() // { users: 3, sessions: 12, … }
 */
export function createPgDataStore(db: PgExec): DataStore {
  return {
    ...dataQueries(pgPortable(db)),
    async removeWhere(table, column, values) {
      const walk = tableOf(TABLES, table)
      let removed = 0
      for (const chunk of chunks(values)) {
        const result = await db.delete(walk.table).where(inArray(columnOf(walk, column), chunk))
        removed += result.rowCount ?? 0
      }
      return removed
    },
  }
}
