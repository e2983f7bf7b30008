/**
 * What both dialects' data stores share: reading the tables of a drizzle schema
 * module into the walk's plan, turning a drizzle row into one keyed by column
 * name, and finding storage keys in a row. No SQL here: the statements are in
 * store.portable.ts (both dialects) and store.pg.ts / store.sqlite.ts (what differs).
 */
import { getTableColumns, type Column, type Table } from 'drizzle-orm'
import { isStorageKey, STORAGE_PREFIXES } from '../../../plugins/storage'
import { planTables, type TablePlan } from './plan'
import type { Row } from './store'

export interface WalkTable<T extends Table, C extends Column> {
  table: T
  plan: TablePlan
  /** The drizzle column of a database column name. */
  columns: Map<string, C>
}

/**
 * Every table exported by a schema module, with its plan.
 * @example
 * const tables = describeSchema(pgSchema, (value) => is(value, PgTable), (table) => getTableConfig(table).name)
 */
export function describeSchema<T extends Table, C extends Column>(
  schema: Record<string, unknown>,
  isTable: (value: unknown) => value is T,
  nameOf: (table: T) => string,
): Map<string, WalkTable<T, C>> {
  const found = Object.values(schema).filter(isTable)
  const infos = found.map((table) => {
    const columns = Object.entries(getTableColumns(table)).map(([key, column]) => ({
      name: column.name,
      key,
      dataType: column.dataType,
      primary: column.primary,
    }))
    return { name: nameOf(table), columns, table }
  })
  const plans = planTables(infos)
  return new Map(
    infos.map((info, i) => [
      info.name,
      { table: info.table, plan: plans[i]!, columns: new Map(Object.values(getTableColumns(info.table)).map((column) => [column.name, column as C])) },
    ]),
  )
}

/** The walk's table or a clear error: a caller naming a table that does not exist is a bug, not bad input. */
export function tableOf<T extends Table, C extends Column>(tables: Map<string, WalkTable<T, C>>, name: string): WalkTable<T, C> {
  const found = tables.get(name)
  if (!found) throw new Error(`data walk: no table "${name}" in the schema`)
  return found
}

export function columnOf<T extends Table, C extends Column>(walk: WalkTable<T, C>, name: string): C {
  const found = walk.columns.get(name)
  if (!found) throw new Error(`data walk: table "${walk.plan.name}" has no column "${name}"`)
  return found
}

/** The property drizzle reads a column into, for `set({ [property]: value })`. */
export function propertyOf(plan: TablePlan, name: string): string {
  const found = plan.columns.find((column) => column.name === name)
  if (!found) throw new Error(`data walk: table "${plan.name}" has no column "${name}"`)
  return found.key
}

/** A drizzle row (property keys) as the walk's row (column names). */
export function toRow(plan: TablePlan, row: Record<string, unknown>): Row {
  const out: Row = {}
  for (const column of plan.columns) out[column.name] = row[column.key]
  return out
}

/** Storage keys as they appear inside text (a JSON document); each match is re-checked with isStorageKey. */
const KEY_IN_TEXT = new RegExp(
  `(?:${STORAGE_PREFIXES.join('|')})/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:/[a-z0-9]{1,32}(?:[-_][a-z0-9]{1,32}){0,7})?`,
  'g',
)

/** Every storage key held by the row's object columns (`*_key` values, and keys anywhere inside JSON). */
export function objectKeysIn(plan: TablePlan, row: Record<string, unknown>): string[] {
  const keys = new Set<string>()
  for (const column of plan.objectColumns) {
    const value = row[column.key]
    if (value === null || value === undefined) continue
    if (column.dataType !== 'json') {
      if (isStorageKey(value)) keys.add(value)
      continue
    }
    for (const match of JSON.stringify(value).matchAll(KEY_IN_TEXT)) if (isStorageKey(match[0])) keys.add(match[0])
  }
  return [...keys]
}
