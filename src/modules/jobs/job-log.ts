/**
 * Per-job log lines (ts, level, msg, job_id, request_id, stage), stored in
 * job_logs for the API and the logs page and echoed to the process log, so
 * the request that enqueued a job can be followed into the worker and back.
 * Rows are written in batches off the hot path; `flush` runs at job end.
 */
import { sql } from 'drizzle-orm'
import { executePg, newId, type Database } from '../../../db/client'
import type { Logger } from '../../../plugins/logging/logger'

type Level = 'info' | 'warn' | 'error'
type Row = typeof import('../../../db/schema/sqlite').jobLogs.$inferInsert

const MAX_ROWS_PER_INSERT = 1000

export interface JobLog {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** Later lines carry this stage. */
  setStage(stage: string | null): void
}

export function createJobLogWriter({ db, logger, flushEveryMs = 250 }: { db: Database; logger: Logger; flushEveryMs?: number }) {
  let buffer: Row[] = []
  let writing: Promise<void> = Promise.resolve()

  /** As for audit batches (src/modules/audit/service.ts): on PostgreSQL one array per column through unnest. */
  const insertChunk = async (chunk: Row[]): Promise<void> => {
    if (db.dialect !== 'pg') {
      await db.orm.insert(db.t.jobLogs).values(chunk)
      return
    }
    const column = <T>(pick: (row: Row) => T) => sql.param(chunk.map(pick))
    await executePg(db, sql`
      insert into job_logs (id, job_id, ts, level, msg, request_id, stage, data)
      select * from unnest(
        ${column((r) => r.id)}::text[], ${column((r) => r.jobId)}::text[], ${column((r) => r.ts.toISOString())}::timestamptz[],
        ${column((r) => r.level)}::text[], ${column((r) => r.msg)}::text[], ${column((r) => r.requestId ?? null)}::text[],
        ${column((r) => r.stage ?? null)}::text[], ${column((r) => (r.data ? JSON.stringify(r.data) : null))}::jsonb[]
      )`)
  }

  /**
   * Writes are one chain: each flush() appends a step that writes whatever is
   * buffered when the step runs, and resolves when its step is done — so every
   * line logged before the call is stored by then, by this step or an earlier one.
   */
  const flush = (): Promise<void> => {
    writing = writing.then(async () => {
      if (buffer.length === 0) return
      const batch = buffer
      buffer = []
      // In chunks: one statement may bind at most 65,535 parameters (PostgreSQL), and a busy worker logs thousands of lines a second.
      for (let i = 0; i < batch.length; i += MAX_ROWS_PER_INSERT) {
        const chunk = batch.slice(i, i + MAX_ROWS_PER_INSERT)
        await insertChunk(chunk).catch((error: Error) => logger.error('job log batch write failed', { error: error.message, lines: chunk.length }))
      }
    })
    return writing
  }
  const timer = setInterval(() => void flush(), flushEveryMs)
  timer.unref()

  return {
    forJob(job: { id: string; requestId: string | null; sessionId: string | null }): JobLog {
      let stage: string | null = null
      const write = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
        const { stage: fieldStage, ...data } = fields
        const lineStage = (fieldStage as string | undefined) ?? stage
        buffer.push({
          id: newId(),
          jobId: job.id,
          ts: new Date(),
          level,
          msg,
          requestId: job.requestId,
          stage: lineStage,
          data: Object.keys(data).length > 0 ? data : null,
        })
        logger[level](msg, { job_id: job.id, request_id: job.requestId, session_id: job.sessionId, stage: lineStage, ...data })
      }
      return {
        info: (msg, fields) => write('info', msg, fields),
        warn: (msg, fields) => write('warn', msg, fields),
        error: (msg, fields) => write('error', msg, fields),
        setStage(next) {
          stage = next
        },
      }
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}

export type JobLogWriter = ReturnType<typeof createJobLogWriter>
