/**
 * `bun run restore -- <archive> [--dry-run] [--force]`: puts a backup back into
 * the configured database, storage and DATA_DIR/logs/restored-<name>. Stop the
 * app (server and workers) first. `--dry-run` prints what would happen and
 * changes nothing; without `--force` a target holding any row or object is
 * left alone (exit 1). A damaged archive (a sha256 that disagrees) is refused.
 * Run `bun run migrate` afterwards when the archive is older than the release.
 */
import { loadConfigOrExit } from '../src/config'
import { restoreBackup } from './lib/backup'

const USAGE = 'Usage: bun run restore -- <archive directory or .tar.gz> [--dry-run] [--force]'
const args = process.argv.slice(2).filter((arg) => arg !== '--')
const flags = new Set(args.filter((arg) => arg.startsWith('--')))
const paths = args.filter((arg) => !arg.startsWith('--'))
const unknown = [...flags].filter((flag) => flag !== '--dry-run' && flag !== '--force')
if (paths.length !== 1 || unknown.length > 0) {
  console.error(`restore: ${unknown.length > 0 ? `unknown flag(s) ${unknown.join(' ')}` : 'name one archive'}\n${USAGE}`)
  process.exit(2)
}

const config = loadConfigOrExit()
try {
  const { plan, applied } = await restoreBackup(config, paths[0]!, { dryRun: flags.has('--dry-run'), force: flags.has('--force') })
  console.log(applied ? `restore: restored ${paths[0]}` : `restore: dry run of ${paths[0]}; nothing was changed. It would:`)
  for (const line of plan) console.log(`  - ${line}`)
  if (applied) console.log('  Next: bun run migrate (if the archive predates this release), then start the app.')
} catch (error) {
  console.error(`restore: ${(error as Error).message}`)
  process.exitCode = 1
}
