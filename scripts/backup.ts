/**
 * `bun run backup [-- --tar]`: a timestamped archive under BACKUP_DIR (default
 * DATA_DIR/backups) — a consistent database copy, the storage objects (or their
 * listing), the logs, and a manifest with the sha256 of every file and the rows
 * of every table — then rotation keeps the newest BACKUP_KEEP. Safe while the
 * app runs. `--tar` packs the archive into one .tar.gz. Exit 1 on any error.
 * Layout and guarantees: scripts/lib/backup/archive.ts, docs/RUNBOOK.md.
 */
import { loadConfigOrExit } from '../src/config'
import { createBackup } from './lib/backup'

const args = process.argv.slice(2).filter((arg) => arg !== '--')
const unknown = args.filter((arg) => arg !== '--tar')
if (unknown.length > 0) {
  console.error(`backup: unknown argument(s) ${unknown.join(' ')}\nUsage: bun run backup [-- --tar]`)
  process.exit(2)
}

const config = loadConfigOrExit()
try {
  const { path, manifest, removed } = await createBackup(config, { tar: args.includes('--tar') })
  const rows = Object.values(manifest.tables).reduce((sum, n) => sum + n, 0)
  console.log(`backup: wrote ${path}`)
  console.log(`  database: ${manifest.dialect}, ${rows} rows in ${Object.keys(manifest.tables).length} tables, migration ${manifest.migration.last}`)
  console.log(`  storage: ${manifest.storage.objects} objects (${manifest.storage.mode}), ${manifest.files.length} files in all`)
  for (const gone of removed) console.log(`  rotated out: ${gone} (BACKUP_KEEP=${config.backup.keep})`)
} catch (error) {
  console.error(`backup: failed: ${(error as Error).message}`)
  process.exitCode = 1
}
