/**
 * Retention (SPEC §5): purges what is older than its period — sessions (with
 * their jobs, job logs, stage outputs, documents and storage objects; agent
 * jobs, which have no session, by the same period), documents (rows and
 * objects), job log lines, audit events, and erased identities once no sign-in
 * cookie can outlive them. A period of 0 keeps that data forever. One run at a
 * time across every instance (a lease row, renewed between batches; whoever
 * does not get it skips), deletes in batches of RETENTION_BATCH rows (no long
 * locks), and each purge that removed something leaves a `retention.purge`
 * audit event with counts and the cut-off, never content (the audit trail's
 * own purge leaves `audit.purge`).
 */
import { hostname } from 'node:os'
import type { AuditLog } from '../../../plugins/audit'
import type { Logger } from '../../../plugins/logging/logger'
import type { ObjectStorage } from '../../../plugins/storage'
import type { Config } from '../../config'
import type { Stores } from '../../stores'
import { closure, removeAll, type CascadeDeps, type Removal } from '../data/cascade'

export const RETENTION_LEASE = 'retention'
const LEASE_MS = 10 * 60_000
const DAY_MS = 86_400_000
/** Sign-in cookies live 12 hours (plugins/auth); an erased identity is kept twice that. */
const ERASED_IDENTITY_MS = DAY_MS

export interface PurgeCount {
  older_than: string
  tables: Record<string, number>
  objects: number
}

export interface RetentionReport {
  /** Another instance holds the lease: nothing was done here. */
  skipped?: 'locked'
  sessions?: PurgeCount
  documents?: PurgeCount
  job_logs?: PurgeCount
  audit_events?: PurgeCount
  erased_identities?: number
}

export interface RetentionDeps {
  stores: Stores
  storage: ObjectStorage
  audit: AuditLog
  logger: Logger
  retention: Config['retention']
  /** The clock; tests move it. */
  now?: () => Date
  /** Names this process in the lease. */
  holder?: string
}

class LeaseLost extends Error {
  override name = 'LeaseLost'
}

/**
 * @example
 * const retention = createRetention({ stores, storage, audit, logger, retention: config.retention })
 * const report = await retention.run()
 */
export function createRetention({ stores, storage, audit, logger, retention, now = () => new Date(), holder }: RetentionDeps) {
  const me = holder ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`
  const cutoff = (days: number) => new Date(now().getTime() - days * DAY_MS)

  const purgeTree = async (cascade: CascadeDeps, before: Date, roots: () => Promise<Record<string, string[]>>): Promise<PurgeCount> => {
    const total: Removal = { tables: {}, objects: 0 }
    for (;;) {
      const found = await roots()
      if (Object.values(found).every((ids) => ids.length === 0)) break
      const removed = await removeAll(cascade, await closure(stores.data, found))
      for (const [table, n] of Object.entries(removed.tables)) total.tables[table] = (total.tables[table] ?? 0) + n
      total.objects += removed.objects
      // Rows that would not go (removed elsewhere meanwhile) must not keep the loop alive.
      if (Object.keys(removed.tables).length === 0) break
    }
    return { older_than: before.toISOString(), ...total }
  }

  const record = async (what: string, count: PurgeCount) => {
    if (Object.keys(count.tables).length === 0 && count.objects === 0) return
    await audit.record({ action: 'retention.purge', actor: 'retention', target: `retention:${what}`, metadata: { ...count } })
  }

  return {
    /** One pass over every period; resolves with what it removed (or that another instance is at it). */
    async run(signal?: AbortSignal): Promise<RetentionReport> {
      if (!(await stores.audit.outbox.acquireLease(RETENTION_LEASE, me, LEASE_MS))) return { skipped: 'locked' }
      const between = async () => {
        signal?.throwIfAborted()
        if (!(await stores.audit.outbox.acquireLease(RETENTION_LEASE, me, LEASE_MS))) throw new LeaseLost('the retention lease was taken over')
      }
      const cascade: CascadeDeps = { data: stores.data, storage, batchSize: retention.batchSize, between }
      const report: RetentionReport = {}
      const batch = retention.batchSize
      try {
        if (retention.sessionDays > 0) {
          const before = cutoff(retention.sessionDays)
          report.sessions = await purgeTree(cascade, before, async () => ({
            sessions: await stores.data.olderThan('sessions', 'created_at', before, batch),
            jobs: await stores.data.olderThan('jobs', 'created_at', before, batch, { nullColumn: 'session_id' }),
          }))
          await record('sessions', report.sessions)
        }
        const documents = stores.data.plans.find((plan) => plan.name === 'documents' && plan.columns.some((c) => c.name === 'created_at'))
        if (retention.documentDays > 0 && documents) {
          const before = cutoff(retention.documentDays)
          report.documents = await purgeTree(cascade, before, async () => ({ documents: await stores.data.olderThan('documents', 'created_at', before, batch) }))
          await record('documents', report.documents)
        }
        if (retention.jobLogDays > 0) {
          const before = cutoff(retention.jobLogDays)
          let deleted = 0
          for (;;) {
            const ids = await stores.data.olderThan('job_logs', 'ts', before, batch)
            const gone = ids.length > 0 ? await stores.data.remove('job_logs', ids) : 0
            deleted += gone
            if (gone === 0 || ids.length < batch) break
            await between()
          }
          report.job_logs = { older_than: before.toISOString(), tables: deleted > 0 ? { job_logs: deleted } : {}, objects: 0 }
          await record('job_logs', report.job_logs)
        }
        if (retention.auditDays > 0) {
          const before = cutoff(retention.auditDays)
          const deleted = await audit.purge(before, { batchSize: batch })
          report.audit_events = { older_than: before.toISOString(), tables: deleted > 0 ? { audit_events: deleted } : {}, objects: 0 }
        }
        report.erased_identities = await stores.data.erasures.purge(new Date(now().getTime() - ERASED_IDENTITY_MS))
        logger.info('retention pass finished', { report })
        return report
      } finally {
        await stores.audit.outbox.releaseLease(RETENTION_LEASE, me).catch(() => undefined)
      }
    },
  }
}

export type RetentionService = ReturnType<typeof createRetention>
