/**
 * `bun run retention`: one retention pass now, with the configured periods
 * (SESSION_RETENTION_DAYS, DOCUMENT_RETENTION_DAYS, JOB_LOG_RETENTION_DAYS,
 * AUDIT_RETENTION_DAYS), for cron-driven installs (RETENTION_INTERVAL_MS=0) and
 * operators. Prints the report as JSON; exit 0 also when another instance held
 * the lease (`"skipped":"locked"`), 1 on error.
 */
import { createDeps } from '../src/app'
import { loadConfigOrExit } from '../src/config'

const config = loadConfigOrExit()
const deps = createDeps(config)
try {
  console.log(JSON.stringify(await deps.retention.run(), null, 2))
} catch (error) {
  console.error(`retention failed: ${(error as Error).message}`)
  process.exitCode = 1
} finally {
  await deps.close()
}
