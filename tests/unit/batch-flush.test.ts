/**
 * The job-log writer and the audit queue write in batches; `flush()` promises
 * that what was queued before the call is stored when it resolves. With several
 * callers at once (a worker finishing many jobs together), a caller whose lines
 * were taken into a batch by an earlier caller must still wait for that batch.
 * The store here is slow on purpose, so a caller that returns early is caught.
 */
import { describe, expect, test } from 'bun:test'
import { createLogger } from '../../plugins/logging/logger'
import type { AuditEventRow, JobLogRow } from '../../db/schema'
import { createAuditLog, type AuditWriter } from '../../plugins/audit'
import { createJobLogWriter } from '../../src/modules/jobs/job-log'
import type { JobStore } from '../../src/modules/jobs/store'

/** A job store whose log inserts take `delayMs` and land in `stored`. */
function slowStore(delayMs: number) {
  const stored: JobLogRow[] = []
  const store: Pick<JobStore, 'appendLogs'> = {
    async appendLogs(rows) {
      await Bun.sleep(delayMs)
      stored.push(...rows)
    },
  }
  return { store, stored }
}

const quiet = createLogger({ level: 'error', sink: () => undefined })

describe('flush under concurrent callers', () => {
  test('job logs: every caller of flush() finds its own lines stored when it resumes', async () => {
    const { store, stored } = slowStore(30)
    const writer = createJobLogWriter({ store, logger: quiet, flushEveryMs: 60_000 })
    const a = writer.forJob({ id: 'job-a', requestId: 'req-a', sessionId: null })
    const b = writer.forJob({ id: 'job-b', requestId: 'req-b', sessionId: null })
    a.info('first line of a')
    const first = writer.flush() // a write now in flight
    b.info('line of b')
    a.info('second line of a')
    // Both calls come after the first; whichever step writes the two lines, each call resolves only once they are stored.
    const byB = writer.flush().then(() => stored.map((row) => row.msg))
    const byA = writer.flush().then(() => stored.map((row) => row.msg))
    await first
    expect(await byB).toContain('line of b')
    expect(await byA).toContain('second line of a')
    expect(stored.map((row) => row.msg)).toEqual(['first line of a', 'line of b', 'second line of a'])
    await writer.close()
  })

  test('audit: every caller of flush() finds the events queued before it stored when it resumes', async () => {
    const stored: AuditEventRow[] = []
    const store: AuditWriter = {
      async append(rows) {
        await Bun.sleep(30)
        stored.push(...rows)
      },
      deleteBefore: async () => 0,
    }
    const audit = createAuditLog({ store, logger: quiet, flushEveryMs: 60_000 })
    audit.recordLater({ action: 'session.read', target: 'session:1' })
    const first = audit.flush()
    audit.recordLater({ action: 'session.read', target: 'session:2' })
    const second = audit.flush().then(() => stored.map((row) => row.target))
    const third = audit.flush().then(() => stored.map((row) => row.target))
    await first
    expect(await second).toEqual(['session:1', 'session:2'])
    expect(await third).toEqual(['session:1', 'session:2'])
    await audit.close()
  })
})
