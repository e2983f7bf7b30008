/** Stage outputs on libsql: the simplest correct SQL (writes take turns on one file anyway). */
import { and, asc, desc, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm'
import { newId, type SqliteExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import type { StageOutputRow } from '../../../db/schema'
import { stageOutputs } from '../../../db/schema/sqlite'
import type { StageOutputStore } from './store'

export function createSqliteStageOutputStore(db: SqliteExec, { coalesce }: { coalesce: boolean } = { coalesce: false }): StageOutputStore {
  const insertRows = async (rows: StageOutputRow[]) =>
    new Set((await db.insert(stageOutputs).values(rows).onConflictDoNothing().returning({ id: stageOutputs.id })).map((row) => row.id))
  // Outputs of councils that land in the same turn (a burst of drafts) go in one insert, like the PostgreSQL store's.
  const insertTogether = createCoalescer<StageOutputRow, boolean>(
    async (rows) => {
      const inserted = await insertRows(rows)
      return rows.map((row) => inserted.has(row.id))
    },
    { maxBatch: 500, wait: 'turn' },
  )
  const readRuns = (runIds: string[]) => db.select().from(stageOutputs).where(inArray(stageOutputs.runId, runIds)).orderBy(asc(stageOutputs.agent))
  const readTogether = createCoalescer<string, StageOutputRow[]>(
    async (runIds) => {
      const rows = await readRuns([...new Set(runIds)])
      return runIds.map((runId) => rows.filter((row) => row.runId === runId))
    },
    { wait: 'turn' },
  )
  return {
    forRun(runId) {
      return coalesce ? readTogether.add(runId) : readRuns([runId])
    },
    async save(output) {
      const row: StageOutputRow = { ...output, id: newId(), createdAt: new Date() }
      const inserted = coalesce ? await insertTogether.add(row) : (await insertRows([row])).has(row.id)
      if (inserted) return row
      // The key is taken: a failed row gives way to this one; a finished row stays and is returned.
      const key = and(eq(stageOutputs.runId, row.runId), eq(stageOutputs.stage, row.stage), eq(stageOutputs.agent, row.agent))
      const [updated] = await db
        .update(stageOutputs)
        .set({ ...output, createdAt: row.createdAt })
        .where(and(key, ne(stageOutputs.status, 'ok')))
        .returning()
      return updated ?? (await db.select().from(stageOutputs).where(key).limit(1))[0]!
    },
    qualitySample(since, until, maxCouncils) {
      const councils = db
        .select({ runId: stageOutputs.runId })
        .from(stageOutputs)
        .where(and(eq(stageOutputs.stage, 'aggregate'), gte(stageOutputs.createdAt, since), lt(stageOutputs.createdAt, until)))
        .orderBy(desc(stageOutputs.createdAt))
        .limit(maxCouncils)
      return db
        .select({
          runId: stageOutputs.runId,
          stage: stageOutputs.stage,
          agent: stageOutputs.agent,
          chars: sql<number>`coalesce(length(${stageOutputs.content}), 0)`.mapWith(Number),
          data: stageOutputs.data,
        })
        .from(stageOutputs)
        .where(and(inArray(stageOutputs.runId, councils), inArray(stageOutputs.stage, ['draft', 'review']), eq(stageOutputs.status, 'ok')))
        .orderBy(asc(stageOutputs.runId), asc(stageOutputs.agent))
    },
    async removeForRun(runId) {
      return (await db.delete(stageOutputs).where(eq(stageOutputs.runId, runId)).returning({ id: stageOutputs.id })).length
    },
  }
}
