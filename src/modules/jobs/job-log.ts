/**
 * Per-job log lines (ts, level, msg, job_id, request_id, stage), stored in
 * job_logs for the API and the logs page and echoed to the process log, so
 * the request that enqueued a job can be followed into the worker and back.
 * Rows are written in batches off the hot path; `flush` runs at job end.
 */
import { newId } from '../../../db/client'
import type { JobLogRow } from '../../../db/schema'
import type { Logger } from '../../../plugins/logging/logger'
import type { JobStore } from './store'

type Level = 'info' | 'warn' | 'error'

export interface JobLog {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** Later lines carry this stage. */
  setStage(stage: string | null): void
}

export interface JobLogWriterOptions {
  store: Pick<JobStore, 'appendLogs'>
  logger: Logger
  flushEveryMs?: number
}

/**
 * @example
 * const jobLogs = createJobLogWriter({ store: stores.jobs, logger })
 * jobLogs.forJob(job).info('job started')
 * await jobLogs.flush()
 */
export function createJobLogWriter({ store, logger, flushEveryMs = 250 }: JobLogWriterOptions) {
  let buffer: JobLogRow[] = []
  let writing: Promise<void> = Promise.resolve()

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
      await store.appendLogs(batch).catch((error: Error) => logger.error('job log batch write failed', { error: error.message, lines: batch.length }))
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
