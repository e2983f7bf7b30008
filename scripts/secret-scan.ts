/**
 * `bun run secret-scan`: scans every file git tracks (and new files it does not ignore) for
 * credentials; fails on any finding not covered by compliance/secret-scan-allowlist.json.
 *
 *   bun run secret-scan [--root <dir>] [--allow <allow-list file>]
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { applyAllowList, parseSecretAllowList, scanText, type Finding } from './lib/secrets'

const { values } = parseArgs({ options: { root: { type: 'string' }, allow: { type: 'string' } } })
const root = resolve(values.root ?? resolve(import.meta.dir, '..'))
const allowFile = resolve(values.allow ?? resolve(import.meta.dir, '../compliance/secret-scan-allowlist.json'))
const MAX_BYTES = 2_000_000

const listed = Bun.spawnSync(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
if (listed.exitCode !== 0) {
  console.error(`secret-scan: git ls-files failed in ${root}: ${listed.stderr.toString()}`)
  process.exit(1)
}
const files = listed.stdout.toString().split('\0').filter(Boolean)

const findings: Finding[] = []
let scanned = 0
for (const file of files) {
  const path = join(root, file)
  if (!existsSync(path) || !statSync(path).isFile() || statSync(path).size > MAX_BYTES) continue
  const bytes = readFileSync(path)
  if (bytes.subarray(0, 8192).includes(0)) continue // binary
  scanned++
  findings.push(...scanText(file, bytes.toString('utf8')))
}

const { open, allowed, unused } = applyAllowList(findings, parseSecretAllowList(readFileSync(allowFile, 'utf8'), allowFile))
for (const entry of unused) console.warn(`secret-scan: allow-list entry ${entry.path} (${entry.rule}) matches nothing; remove it if it is stale.`)
console.log(`secret-scan: ${scanned} files scanned, ${findings.length} finding(s), ${allowed.length} allowed by the allow-list.`)
if (open.length > 0) {
  for (const f of open) console.error(`secret-scan: ${f.file}:${f.line}: ${f.rule}: ${f.masked}`)
  console.error(
    `secret-scan: ${open.length} possible secret(s). Remove and rotate a real one; for a fixture or placeholder add an entry with a reason to ${allowFile}.`,
  )
  process.exit(1)
}
console.log('secret-scan: no secrets found.')
