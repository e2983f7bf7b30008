/** Stage outputs on PostgreSQL: the shared queries (./store.portable.ts) with a batch insert through unnest. */
import { sql } from 'drizzle-orm'
import type { PgExec } from '../../../db/client'
import { pgPortable } from '../../../db/portable'
import type { StageOutputRow } from '../../../db/schema'
import type { StageOutputStore } from './store'
import { createStageOutputStore } from './store.portable'

export interface PgStageOutputStoreOptions {
  /** Share statements between concurrent callers; only on the database itself, never inside a transaction. */
  coalesce: boolean
}

export function createPgStageOutputStore(db: PgExec, { coalesce }: PgStageOutputStoreOptions): StageOutputStore {
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
  return createStageOutputStore(pgPortable(db), { coalesce, insertRows })
}
