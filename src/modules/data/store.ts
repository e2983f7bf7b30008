/**
 * The data walk: every table at once, through the map in ./plan.ts, for
 * erasure, retention, export and backups. Tables are named by their database
 * name and rows come back keyed by column name (`user_id`), because the walk
 * serves tables it was not written for. The contract suite is
 * tests/unit/stores/data-store.test.ts (libsql and PostgreSQL).
 */
import type { TablePlan } from './plan'

export type Row = Record<string, unknown>

/** One batch of rows picked for deletion: their primary keys and the storage keys found in them. */
export interface Picked {
  ids: string[]
  objectKeys: string[]
}

export interface DataStore {
  /** The plan of every table of this dialect's schema, in schema order. */
  readonly plans: readonly TablePlan[]
  /** Rows per table, for every table. */
  count(): Promise<Record<string, number>>
  /** Primary keys of `table`'s rows whose `column` is one of `values` (all of them). */
  ids(table: string, column: string, values: readonly string[]): Promise<string[]>
  /**
   * Up to `limit` rows of `table` whose `column` is one of `values`, oldest key
   * first: their primary keys and every storage key in their object columns.
   */
  pick(table: string, column: string, values: readonly string[], limit: number): Promise<Picked>
  /** Deletes rows by primary key; returns how many went. */
  remove(table: string, ids: readonly string[]): Promise<number>
  /** For a table without a single-column key: deletes every row whose `column` is one of `values`. */
  removeWhere(table: string, column: string, values: readonly string[]): Promise<number>
  /** Replaces `from` by `to` in `column` of up to `limit` rows; returns how many changed. */
  rewrite(table: string, column: string, from: string, to: string, limit: number): Promise<number>
  /**
   * Primary keys of up to `limit` rows whose time `column` is before `before`, oldest
   * first; with `nullColumn`, only rows where that column is null (jobs of no session).
   */
  olderThan(table: string, column: string, before: Date, limit: number, options?: { nullColumn?: string }): Promise<string[]>
  /** Rows of `table` whose `column` is one of `values`, by primary key, after `after` (all when null): up to `limit`. */
  rows(table: string, where: { column: string; values: readonly string[] } | null, after: string | null, limit: number): Promise<Row[]>
  /** Erased people: see erased_identities in db/schema/sqlite.ts. */
  erasures: {
    /** Records (or refreshes) the erasure of `subject` at `at`. */
    record(subject: string, at: Date): Promise<void>
    /** When `subject` was erased, or null. */
    erasedAt(subject: string): Promise<Date | null>
    /** Forgets erasures recorded before `before`; returns how many. */
    purge(before: Date): Promise<number>
  }
}
