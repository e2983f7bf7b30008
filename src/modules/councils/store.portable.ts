/**
 * Stage outputs, on either dialect: the same queries run on both
 * (db/portable.ts), and the reads and inserts of councils that move together
 * share statements (db/coalesce.ts). Only the insert itself differs (unnest on
 * PostgreSQL, a plain multi-row insert on libsql); store.pg.ts and
 * store.sqlite.ts pass it in.
 */
import { and, asc, desc, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm'
import { newId } from '../../../db/client'
import { createCoalescer, type CoalescerOptions } from '../../../db/coalesce'
import type { Portable } from '../../../db/portable'
import type { StageOutputRow } from '../../../db/schema'
import type { StageOutputStore } from './store'

export interface StageOutputStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
  /** How the shared reads and inserts wait for company (db/coalesce.ts). */
  coalescer?: CoalescerOptions
  /** Inserts the rows, skipping those whose key is taken; the ids inserted. */
  insertRows(rows: StageOutputRow[]): Promise<Set<string>>
}

/**
 * @example
 * const outputs = createStageOutputStore(pgPortable(db), { coalesce: true, insertRows })
 */
export function createStageOutputStore({ db, t }: Portable, { coalesce, coalescer, insertRows }: StageOutputStoreOptions): StageOutputStore {
  const { stageOutputs } = t
  /** Many councils finish a stage at the same moment (1,000 drafts within a millisecond): their rows share one insert. */
  const insertTogether = createCoalescer<StageOutputRow, boolean>(
    async (rows) => {
      const inserted = await insertRows(rows)
      return rows.map((row) => inserted.has(row.id))
    },
    { maxBatch: 500, ...coalescer },
  )
  const readRuns = (runIds: string[]) => db.select().from(stageOutputs).where(inArray(stageOutputs.runId, runIds)).orderBy(asc(stageOutputs.agent))
  /** A resumed council reads what it stored; councils that start together share the read. */
  const readTogether = createCoalescer<string, StageOutputRow[]>(async (runIds) => {
    const rows = await readRuns([...new Set(runIds)])
    return runIds.map((runId) => rows.filter((row) => row.runId === runId))
  }, coalescer)

  return {
    forRun(runId) {
      return coalesce ? readTogether.add(runId) : readRuns([runId])
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
  }
}
