/** Stage outputs on libsql: the shared queries (./store.portable.ts) with the simplest correct insert (writes take turns on one file anyway). */
import type { SqliteExec } from '../../../db/client'
import { sqlitePortable } from '../../../db/portable'
import type { StageOutputRow } from '../../../db/schema'
import { stageOutputs } from '../../../db/schema/sqlite'
import type { StageOutputStore } from './store'
import { createStageOutputStore } from './store.portable'

export function createSqliteStageOutputStore(db: SqliteExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): StageOutputStore {
  const insertRows = async (rows: StageOutputRow[]) =>
    new Set((await db.insert(stageOutputs).values(rows).onConflictDoNothing().returning({ id: stageOutputs.id })).map((row) => row.id))
  // Outputs of councils that land in the same turn (a burst of drafts) go in one insert, as on PostgreSQL; libsql runs
  // each statement on this thread, so the shared reads and inserts wait a turn for company (db/coalesce.ts).
  return createStageOutputStore(sqlitePortable(db), { coalesce, coalescer: { wait: 'turn' }, insertRows })
}
