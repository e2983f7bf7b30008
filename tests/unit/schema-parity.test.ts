/**
 * db/schema/sqlite.ts and db/schema/pg.ts are two hand-written twins; one query
 * layer (typed on the SQLite flavour) serves both. This proves they agree: same
 * tables, same columns (property key, column name, nullability, primary key,
 * TypeScript data type) and the same indexes (name, columns, uniqueness).
 * Every exported table of either module is compared, so a table added to one
 * file only fails here.
 */
import { describe, expect, test } from 'bun:test'
import { getTableColumns, is } from 'drizzle-orm'
import { getTableConfig as pgTableConfig, PgTable, pgTable, text as pgText, index as pgIndex } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as pgSchema from '../../db/schema/pg'
import * as sqliteSchema from '../../db/schema/sqlite'

interface ColumnShape {
  key: string
  name: string
  notNull: boolean
  primary: boolean
  /** drizzle's TypeScript-level type: string, number, boolean, date, json… */
  dataType: string
}

interface IndexShape {
  name: string
  columns: string[]
  unique: boolean
}

interface TableShape {
  /** The export name in the module (stores import tables by it). */
  exportName: string
  name: string
  columns: ColumnShape[]
  indexes: IndexShape[]
  primaryKeys: string[][]
  uniqueConstraints: Array<{ name: string | undefined; columns: string[] }>
}

const columnNames = (columns: Array<{ name?: string } | unknown>) =>
  columns.map((column) => (column as { name?: string }).name ?? String(column))

function describeTable(exportName: string, table: SQLiteTable | PgTable): TableShape {
  const config = is(table, PgTable) ? pgTableConfig(table) : sqliteTableConfig(table as SQLiteTable)
  const byName = new Map(Object.entries(getTableColumns(table)).map(([key, column]) => [column.name, key]))
  return {
    exportName,
    name: config.name,
    columns: config.columns
      .map((column) => ({
        key: byName.get(column.name) ?? '?',
        name: column.name,
        notNull: column.notNull,
        primary: column.primary,
        dataType: column.dataType,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((index) => ({
        name: index.config.name ?? '(unnamed)',
        columns: columnNames(index.config.columns as unknown[]),
        unique: index.config.unique ?? false,
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    primaryKeys: config.primaryKeys.map((pk) => columnNames(pk.columns)),
    uniqueConstraints: config.uniqueConstraints.map((uc) => ({ name: uc.name, columns: columnNames(uc.columns) })),
  }
}

/** Every table a schema module exports, by export name. Non-table exports are ignored. */
function tablesOf(module: Record<string, unknown>): Map<string, TableShape> {
  const tables = new Map<string, TableShape>()
  for (const [exportName, value] of Object.entries(module)) {
    if (is(value, SQLiteTable) || is(value, PgTable)) tables.set(exportName, describeTable(exportName, value))
  }
  return tables
}

const sqliteTables = tablesOf(sqliteSchema)
const pgTables = tablesOf(pgSchema)

describe('schema parity: sqlite.ts and pg.ts', () => {
  test('both modules export tables (the walk found something)', () => {
    expect(sqliteTables.size).toBeGreaterThanOrEqual(6)
    expect(pgTables.size).toBeGreaterThanOrEqual(6)
    for (const expected of ['users', 'roleBindings', 'sessions', 'jobs', 'jobLogs', 'auditEvents'])
      expect(sqliteTables.has(expected)).toBe(true)
  })

  test('the same tables are exported under the same names', () => {
    expect([...pgTables.keys()].sort()).toEqual([...sqliteTables.keys()].sort())
    const names = (tables: Map<string, TableShape>) => [...tables.values()].map((t) => `${t.exportName}=${t.name}`).sort()
    expect(names(pgTables)).toEqual(names(sqliteTables))
  })

  // One test per table of either side, so a table present on one side only fails by name.
  const allExports = [...new Set([...sqliteTables.keys(), ...pgTables.keys()])].sort()
  for (const exportName of allExports) {
    describe(exportName, () => {
      const lite = () => sqliteTables.get(exportName)
      const pg = () => pgTables.get(exportName)

      test('exists in both dialects', () => {
        expect({ exportName, sqlite: !!lite(), pg: !!pg() }).toEqual({ exportName, sqlite: true, pg: true })
      })

      test('columns agree: key, name, notNull, primary key, data type', () => {
        expect(pg()?.columns).toEqual(lite()?.columns)
      })

      test('indexes agree: name, columns, unique', () => {
        expect(pg()?.indexes).toEqual(lite()?.indexes)
      })

      test('composite keys and unique constraints agree', () => {
        expect(pg()?.primaryKeys).toEqual(lite()?.primaryKeys)
        expect(pg()?.uniqueConstraints).toEqual(lite()?.uniqueConstraints)
      })

      test('has a primary key in both dialects', () => {
        for (const side of [lite(), pg()]) {
          const keyed = (side?.columns.some((column) => column.primary) ?? false) || (side?.primaryKeys.length ?? 0) > 0
          expect(keyed).toBe(true)
        }
      })
    })
  }

  test('index names are unique across the schema (both dialects share one namespace per database)', () => {
    for (const tables of [sqliteTables, pgTables]) {
      const names = [...tables.values()].flatMap((table) => table.indexes.map((index) => index.name))
      expect(new Set(names).size).toBe(names.length)
    }
  })
})

describe('the parity check itself can fail', () => {
  // A pg twin of `sessions` that drifted: one index fewer and a nullable column.
  const drifted = pgTable(
    'sessions',
    {
      id: pgText('id').primaryKey(),
      userId: pgText('user_id'),
    },
    (t) => [pgIndex('sessions_user_id_idx').on(t.userId)],
  )

  test('a drifted table is described differently', () => {
    const shape = describeTable('sessions', drifted)
    expect(shape.columns).not.toEqual(sqliteTables.get('sessions')!.columns)
    expect(shape.indexes).not.toEqual(sqliteTables.get('sessions')!.indexes)
  })

  test('an extra export on one side changes the table set', () => {
    const extended = tablesOf({ ...pgSchema, extraOnlyInPg: drifted })
    expect([...extended.keys()].sort()).not.toEqual([...sqliteTables.keys()].sort())
  })

  test('non-table exports are ignored by the walk', () => {
    expect(tablesOf({ notATable: 42, alsoNot: () => null, obj: { name: 'users' } }).size).toBe(0)
  })
})
