/**
 * Generic rows for every table of the schema, for the erasure and retention
 * suites: whatever tables exist (including ones added after these tests were
 * written), each table that points at a person, session, job, ticket or
 * document gets a row pointing at the given owners, with storage objects
 * behind its `*_key` and JSON columns. So a new table is walked by those
 * suites without an edit, and one the walk misses fails them.
 */
import { getTableColumns, is, type Table } from 'drizzle-orm'
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as pgSchema from '../../db/schema/pg'
import * as sqliteSchema from '../../db/schema/sqlite'
import { childKey, newStorageKey, parseStorageKey, type ObjectStorage } from '../../plugins/storage'
import type { AppDeps } from '../../src/app'
import { deletionOrder, type TablePlan } from '../../src/modules/data/plan'

/** The owners a seeded row points at: table name → id of a row of that table. */
export type Owners = Record<string, string>

export interface Seeded {
  /** table → primary keys of the rows inserted. */
  rows: Record<string, string[]>
  /** Every storage object put for them. */
  objects: string[]
}

/** The drizzle table of a database table name, in the app's dialect. */
function tableByName(deps: AppDeps, name: string): Table {
  const schema = deps.db.handle.dialect === 'pg' ? pgSchema : sqliteSchema
  const found = Object.values(schema).find(
    (value) => (is(value, PgTable) && pgTableConfig(value).name === name) || (is(value, SQLiteTable) && sqliteTableConfig(value).name === name),
  )
  if (!found) throw new Error(`no table ${name}`)
  return found as Table
}

/** Inserts rows through the dialect's own drizzle handle (tests only: the app goes through stores). */
async function insertRow(deps: AppDeps, table: string, row: Record<string, unknown>): Promise<void> {
  // The handle is typed per dialect; a test inserting into any table by name needs the common shape.
  const orm = deps.db.handle.orm as unknown as { insert(table: Table): { values(row: Record<string, unknown>): Promise<unknown> } }
  await orm.insert(tableByName(deps, table)).values(row)
}

/** A document's objects as the uploads package lays them out: the bytes, and the extracted text beside them. */
export async function putDocumentObjects(storage: ObjectStorage, label: string): Promise<{ key: string; objects: string[] }> {
  const key = newStorageKey('documents')
  const text = childKey(parseStorageKey(`extracted/${key.split('/')[1]}`), 'page-0001')
  await storage.put(key, `bytes of ${label}`)
  await storage.put(text, `text of ${label}`)
  return { key, objects: [key, text] }
}

/**
 * One row in every table that points at one of `owners`, each reference set
 * to that owner; other columns get plausible values of their type (times: `at`). Tables
 * whose references point at none of the owners are left alone.
 */
export async function seedEveryTable(deps: AppDeps, given: Owners, label: string, { at = new Date() }: { at?: Date } = {}): Promise<Seeded> {
  const seeded: Seeded = { rows: {}, objects: [] }
  const owners = { ...given }
  // Owners before what belongs to them, so a table nobody passed an owner for (documents) gets its
  // seeded row as the owner of the rows below it (a document's chunks).
  for (const plan of deletionOrder(deps.stores.data.plans).reverse()) {
    const refs = plan.refs.filter((ref) => owners[ref.target])
    if (refs.length === 0 || !plan.primaryKey) continue
    // A table keyed by its owner's id (a job's budget reservation) may have that row already.
    const keyRef = plan.refs.find((ref) => ref.column.name === plan.primaryKey!.name && owners[ref.target])
    if (keyRef && (await deps.stores.data.ids(plan.name, plan.primaryKey.name, [owners[keyRef.target]!])).length > 0) {
      ;(seeded.rows[plan.name] ??= []).push(owners[keyRef.target]!)
      continue
    }
    const row = await rowFor(deps, plan, owners, label, seeded, at)
    const id = String(row[plan.primaryKey.key])
    await insertRow(deps, plan.name, row)
    ;(seeded.rows[plan.name] ??= []).push(id)
    owners[plan.name] ??= id
  }
  return seeded
}

async function rowFor(deps: AppDeps, plan: TablePlan, owners: Owners, label: string, seeded: Seeded, at: Date): Promise<Record<string, unknown>> {
  const columns = getTableColumns(tableByName(deps, plan.name))
  const row: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(columns)) {
    // Identity columns fill themselves.
    if ((column as { generatedIdentity?: unknown }).generatedIdentity) continue
    const ref = plan.refs.find((candidate) => candidate.column.name === column.name)
    const object = plan.objectColumns.some((candidate) => candidate.name === column.name)
    if (ref) row[key] = owners[ref.target] ?? Bun.randomUUIDv7()
    else if (object && column.dataType !== 'json') {
      const put = await putDocumentObjects(deps.storage, label)
      seeded.objects.push(...put.objects)
      row[key] = put.key
    } else if (column.dataType === 'json') {
      const put = await putDocumentObjects(deps.storage, label)
      seeded.objects.push(...put.objects)
      row[key] = { seeded: label, object: put.key }
    } else if (column.dataType === 'number') row[key] = 1
    else if (column.dataType === 'boolean') row[key] = false
    else if (column.dataType === 'date') row[key] = at
    else row[key] = column.primary ? Bun.randomUUIDv7() : `${label}-${column.name}-${Bun.randomUUIDv7().slice(-12)}`
  }
  return row
}

/** Every object under every prefix the app keeps objects under. */
export async function allObjects(storage: ObjectStorage): Promise<string[]> {
  const keys: string[] = []
  for (const prefix of ['documents', 'extracted', 'exports'] as const) for await (const info of storage.list(prefix)) keys.push(info.key)
  return keys
}

/** Every row of every table, keyed by column name. */
export async function allRows(deps: AppDeps): Promise<Record<string, Array<Record<string, unknown>>>> {
  const out: Record<string, Array<Record<string, unknown>>> = {}
  for (const plan of deps.stores.data.plans) {
    if (!plan.primaryKey) continue
    out[plan.name] = await deps.stores.data.rows(plan.name, null, null, 1_000_000)
  }
  return out
}
