/**
 * The data walk on libsql: the shared statements (./store.portable.ts) and
 * `removeWhere`, whose delete has no RETURNING and so reports its count the libsql way.
 */
import { inArray, is } from 'drizzle-orm'
import { getTableConfig, SQLiteTable, type SQLiteColumn } from 'drizzle-orm/sqlite-core'
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import * as schema from '../../../db/schema/sqlite'
import type { DataStore } from './store'
import { chunks, dataQueries } from './store.portable'
import { columnOf, describeSchema, tableOf } from './walk'

const TABLES = describeSchema<SQLiteTable, SQLiteColumn>(schema as Record<string, unknown>, (value): value is SQLiteTable => is(value, SQLiteTable), (table) => getTableConfig(table).name)

/**
 * @example
 * const data = createSqliteDataStore(db.handle.orm)
 * await data.count() // { users: 3, sessions: 12, … }
 */
export function createSqliteDataStore(db: SqliteExec): DataStore {
  return {
    ...dataQueries(sqlitePortable(db)),
    async removeWhere(table, column, values) {
      const walk = tableOf(TABLES, table)
      let removed = 0
      for (const chunk of chunks(values)) {
        const result = await db.delete(walk.table).where(inArray(columnOf(walk, column), chunk))
        removed += result.rowsAffected
      }
      return removed
    },
  }
}
