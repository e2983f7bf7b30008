/**
 * Fails when db/schema/ changed without a migration. `drizzle-kit check` only
 * catches branched migrations, so this regenerates each dialect into a scratch
 * copy of its migrations folder and fails if drizzle-kit wrote anything new.
 * It also fails when a migration drops or rewrites a table or column without the
 * acknowledgement line (scripts/lib/migration-safety.ts).
 */
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { checkMigration, describeRefusal } from './lib/migration-safety'

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length))
    .sort()

let unsafe = false
for (const dialect of ['sqlite', 'pg'] as const) {
  const dir = `db/migrations/${dialect}`
  const files = listFiles(dir).filter((file) => file.endsWith('.sql'))
  for (const file of files) {
    const verdict = checkMigration(join(dir, file), readFileSync(join(dir, file), 'utf8'))
    if (!verdict.ok) {
      unsafe = true
      console.error(describeRefusal(verdict))
    } else if (verdict.destructive.length > 0)
      console.log(`db:check: ${verdict.file}: ${verdict.destructive.length} destructive statement(s), acknowledged: ${verdict.acknowledged}`)
  }
  if (!unsafe) console.log(`db:check: ${dialect} migrations: ${files.length} file(s), none drops or rewrites data unacknowledged.`)
}
if (unsafe) process.exit(1)

let drift = false
for (const dialect of ['sqlite', 'pg'] as const) {
  // drizzle-kit resolves `out` relative to the project ("./" + out), so the scratch copy lives inside it.
  const scratch = `.db-check/${dialect}`
  rmSync(scratch, { recursive: true, force: true })
  try {
    cpSync(`./db/migrations/${dialect}`, scratch, { recursive: true })
    const before = listFiles(scratch)
    const proc = Bun.spawnSync(['bunx', 'drizzle-kit', 'generate'], {
      env: { ...process.env, DRIZZLE_DIALECT: dialect, DRIZZLE_OUT: scratch },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    // drizzle-kit can print an error and still exit 0, so its output is read too.
    if (proc.exitCode !== 0 || /\bError\b/.test(proc.stderr.toString() + proc.stdout.toString())) {
      console.error(`db:check: drizzle-kit generate failed for ${dialect}:\n${proc.stderr.toString()}${proc.stdout.toString()}`)
      process.exit(1)
    }
    const added = listFiles(scratch).filter((file) => !before.includes(file))
    if (added.length > 0) {
      drift = true
      console.error(`db:check: ${dialect} schema has changes without a migration (would add ${added.join(', ')}).`)
    } else console.log(`db:check: ${dialect} schema and migrations agree.`)
  } finally {
    rmSync('.db-check', { recursive: true, force: true })
  }
}
if (drift) {
  console.error('Run `bun run db:generate <name>` and commit the new migrations.')
  process.exit(1)
}
