/** Stage outputs on libsql: the simplest correct SQL (writes take turns on one file anyway). */
import { and, asc, desc, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm'
import { newId, type SqliteExec } from '../../../db/client'
import type { StageOutputRow } from '../../../db/schema'
import { stageOutputs } from '../../../db/schema/sqlite'
import type { StageOutputStore } from './store'

export function createSqliteStageOutputStore(db: SqliteExec): StageOutputStore {
  return {
    forRun(runId) {
      return db.select().from(stageOutputs).where(eq(stageOutputs.runId, runId)).orderBy(asc(stageOutputs.agent))
    },
    async save(output) {
      const row: StageOutputRow = { ...output, id: newId(), createdAt: new Date() }
      const inserted = await db.insert(stageOutputs).values(row).onConflictDoNothing().returning({ id: stageOutputs.id })
      if (inserted.length > 0) return row
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
