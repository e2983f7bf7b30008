/**
 * `bun run verify-backups [-- <archive>]`: restores the newest archive in
 * BACKUP_DIR (or the one named) into a scratch database (libsql: a temporary
 * file; PostgreSQL: a scratch database on the configured server) and a scratch
 * directory, and checks every file's sha256, every table's row count, the
 * migration state and the objects against the manifest. Exit 1, naming each
 * mismatch, when anything disagrees.
 */
import { loadConfigOrExit } from '../src/config'
import { verifyBackup } from './lib/backup'

const args = process.argv.slice(2).filter((arg) => arg !== '--')
if (args.length > 1) {
  console.error('Usage: bun run verify-backups [-- <archive directory or .tar.gz>]')
  process.exit(2)
}

const config = loadConfigOrExit()
try {
  const { path, manifest, problems, warnings } = await verifyBackup(config, args[0])
  for (const warning of warnings) console.warn(`verify-backups: warning: ${warning}`)
  if (problems.length > 0) {
    console.error(`verify-backups: ${path} FAILED (${problems.length} problem(s)):`)
    for (const problem of problems) console.error(`  - ${problem}`)
    process.exitCode = 1
  } else {
    const rows = Object.values(manifest.tables).reduce((sum, n) => sum + n, 0)
    console.log(`verify-backups: ${path} OK: ${manifest.files.length} files match their sha256; ${rows} rows in ${Object.keys(manifest.tables).length} tables and ${manifest.storage.objects} objects restored as listed`)
  }
} catch (error) {
  console.error(`verify-backups: failed: ${(error as Error).message}`)
  process.exitCode = 1
}
