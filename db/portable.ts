/**
 * Store code that both dialects run as the very same text. Many stores build
 * the same drizzle queries on PostgreSQL and on libsql (select, insert …
 * returning, onConflictDoNothing/DoUpdate, update, delete, `sql` fragments both
 * understand); such code is written once (a module's `store.portable.ts`)
 * against `Portable`: a database handle and its tables.
 *
 * TypeScript cannot call a method on a union of the two drizzle database types,
 * so `sqlitePortable` presents the libsql handle and the libsql tables under the
 * PostgreSQL types. This is the only place that does, and it is sound for what
 * goes through it:
 * - at run time nothing changes: the libsql handle still builds the queries and
 *   renders them in its own dialect, with the SQLite tables and their column
 *   mappings; the types only decide which method names and argument shapes the
 *   compiler accepts, and the query-builder API used is the same on both;
 * - the row types of the two schemas are the same (checked in db/schema/index.ts),
 *   so what the shared code returns is typed correctly on both;
 * - only code that is the same text on both dialects is written against it; what
 *   genuinely differs — raw `execute`/`run`, prepared statements, `unnest`,
 *   `json_to_recordset`, `.for('update')`, the result of a write without
 *   `.returning()` (pg `rowCount`, libsql `rowsAffected`) — stays in the
 *   dialect's `store.pg.ts` / `store.sqlite.ts`, which may hand it to the shared
 *   code as a function or option (e.g. the budget ledger's `recordCalls`,
 *   libsql's `wait: 'turn'` coalescing);
 * - each store's contract suite (tests/unit/stores/*, `eachDialect`) runs the
 *   shared code on both dialects, so a PostgreSQL-only call that slipped in
 *   fails there on libsql.
 */
import type { PgExec, SqliteExec } from './client'
import * as pgSchema from './schema/pg'
import * as sqliteSchema from './schema/sqlite'

/** The tables, as the shared store code sees them (the PostgreSQL types; see above). */
export type PortableTables = typeof pgSchema

/** A database (or a transaction of it) and that dialect's tables. */
export interface Portable {
  db: PgExec
  t: PortableTables
}

/**
 * The libsql database and tables under the PostgreSQL types: the one adapter (see above why it is sound).
 * @example
 * const status = createStatusStore(sqlitePortable(db.handle.orm))
 */
export function sqlitePortable(db: SqliteExec): Portable {
  return { db: db as unknown as PgExec, t: sqliteSchema as unknown as PortableTables }
}

/**
 * A PostgreSQL database with its own tables: nothing to present differently.
 * @example
 * const status = createStatusStore(pgPortable(db.handle.orm))
 */
export function pgPortable(db: PgExec): Portable {
  return { db, t: pgSchema }
}
