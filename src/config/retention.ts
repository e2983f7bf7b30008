/**
 * Retention and backup settings (SPEC §5 "Retention", §6), read by the one
 * configuration module (./index.ts) through its `read`, so a bad value stops
 * start-up naming the variable like every other setting.
 */
import { resolve } from 'node:path'
import { boolean, integer } from './parsers'

/**
 * How long data is kept, in days; 0 keeps it forever. The retention job
 * (src/modules/retention) purges what is older every `intervalMs` (0: never scheduled).
 */
export interface RetentionConfig {
  sessionDays: number
  documentDays: number
  jobLogDays: number
  auditDays: number
  intervalMs: number
  /** Rows per delete statement, so no purge holds a long lock. */
  batchSize: number
}

export interface BackupConfig {
  /** Where archives go: BACKUP_DIR, default DATA_DIR/backups. */
  dir: string
  /** How many archives rotation keeps (the newest). */
  keep: number
  /** S3 storage: copy every object into the archive (true) or list them with their ETags (false). */
  s3Copy: boolean
}

type Read = <T>(name: string, fallback: T, parse: (raw: string) => T) => T

const days = integer(0, 36_500)

export function readRetentionConfig(read: Read, dataDir: string): { retention: RetentionConfig; backup: BackupConfig } {
  return {
    retention: {
      sessionDays: read('SESSION_RETENTION_DAYS', 0, days),
      documentDays: read('DOCUMENT_RETENTION_DAYS', 0, days),
      jobLogDays: read('JOB_LOG_RETENTION_DAYS', 90, days),
      auditDays: read('AUDIT_RETENTION_DAYS', 365, days),
      intervalMs: read('RETENTION_INTERVAL_MS', 3_600_000, (raw) => (raw === '0' ? 0 : integer(1000, 7 * 86_400_000)(raw))),
      batchSize: read('RETENTION_BATCH', 500, integer(1, 100_000)),
    },
    backup: {
      dir: resolve(read('BACKUP_DIR', `${dataDir}/backups`, String)),
      keep: read('BACKUP_KEEP', 7, integer(1, 1000)),
      s3Copy: read('BACKUP_S3_COPY', false, boolean),
    },
  }
}
