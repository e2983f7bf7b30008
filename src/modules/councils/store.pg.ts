/** Stage outputs on PostgreSQL: the reads and inserts of councils that move together share statements (db/coalesce.ts). */
import { and, asc, desc, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm'
import { newId, type PgExec } from '../../../db/client'
import { createCoalescer } from '../../../db/coalesce'
import type { StageOutputRow } from '../../../db/schema'
import { stageOutputs } from '../../../db/schema/pg'
import type { StageOutputStore } from './store'

export interface PgStageOutputStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgStageOutputStore(db: PgExec, { coalesce }: PgStageOutputStoreOptions): StageOutputStore {
  const readRuns = (runIds: string[]) => db.select().from(stageOutputs).where(inArray(stageOutputs.runId, runIds)).orderBy(asc(stageOutputs.agent))

  /**
   * A batch goes in as one array per column through unnest (16 parameters
   * however many rows; a 250-row drizzle insert took milliseconds of the event
   * loop to build, and unnest took the benchmark's mean job from 4.2 to
   * 3.6–3.9 s, docs/PERFORMANCE.md). Conflicting rows are skipped and only the
   * inserted ids come back, as with onConflictDoNothing().returning().
   */
  const insertRows = async (rows: StageOutputRow[]): Promise<Set<string>> => {
    const column = <T>(pick: (row: StageOutputRow) => T) => sql.param(rows.map(pick))
    const result = await db.execute<{ id: string }>(sql`
      insert into stage_outputs (id, run_id, session_id, job_id, stage, agent, status, content, data, error, model,
        tokens_in, tokens_out, cost_micro_usd, duration_ms, created_at)
      select * from unnest(
        ${column((r) => r.id)}::text[], ${column((r) => r.runId)}::text[], ${column((r) => r.sessionId)}::text[],
        ${column((r) => r.jobId)}::text[], ${column((r) => r.stage)}::text[], ${column((r) => r.agent)}::text[],
        ${column((r) => r.status)}::text[], ${column((r) => r.content)}::text[],
        ${column((r) => (r.data ? JSON.stringify(r.data) : null))}::jsonb[], ${column((r) => r.error)}::text[],
        ${column((r) => r.model)}::text[], ${column((r) => r.tokensIn)}::int[], ${column((r) => r.tokensOut)}::int[],
        ${column((r) => r.costMicroUsd)}::bigint[], ${column((r) => r.durationMs)}::int[],
        ${column((r) => r.createdAt.toISOString())}::timestamptz[]
      )
      on conflict do nothing
      returning id`)
    return new Set(result.rows.map((row) => row.id))
  }

  /** Many councils finish a stage at the same moment (1,000 drafts within a millisecond): their rows share one insert. */
  const insertTogether = createCoalescer<StageOutputRow, boolean>(
    async (rows) => {
      const inserted = await insertRows(rows)
      return rows.map((row) => inserted.has(row.id))
    },
    { maxBatch: 500 },
  )
  /** A resumed council reads what it stored; councils that start together share the read. */
  const readTogether = createCoalescer<string, StageOutputRow[]>(async (runIds) => {
    const rows = await readRuns([...new Set(runIds)])
    return runIds.map((runId) => rows.filter((row) => row.runId === runId))
  })

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
