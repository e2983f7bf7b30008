/**
 * `bun run licenses`: fails when an installed package's licence is disallowed (AGPL, GPL,
 * SSPL) or unknown and no reviewed exception in compliance/license-allowlist.json covers it.
 *
 *   bun run licenses [--root <project dir>] [--allow <allow-list file>]
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { checkLicenses, listInstalledPackages, parseAllowList } from './lib/licenses'

const { values } = parseArgs({
  options: { root: { type: 'string' }, allow: { type: 'string' } },
})
const root = resolve(values.root ?? resolve(import.meta.dir, '..'))
const allowFile = resolve(values.allow ?? resolve(import.meta.dir, '../compliance/license-allowlist.json'))

const packages = listInstalledPackages(root)
if (packages.length === 0) {
  console.error(`licenses: no packages found under ${root}/node_modules; run \`bun install\` first.`)
  process.exit(1)
}
const report = checkLicenses(packages, parseAllowList(readFileSync(allowFile, 'utf8'), allowFile))

const byLicense = new Map<string, number>()
for (const pkg of packages) byLicense.set(pkg.license ?? '(none)', (byLicense.get(pkg.license ?? '(none)') ?? 0) + 1)
const summary = [...byLicense].sort((a, b) => b[1] - a[1]).map(([license, count]) => `${license} ${count}`)
console.log(`licenses: ${report.checked} packages: ${summary.join(', ')}`)
for (const { pkg, reason } of report.allowed) console.log(`licenses: allowed by exception: ${pkg.name}@${pkg.version} (${pkg.license}): ${reason}`)
for (const entry of report.unused) console.warn(`licenses: exception for ${entry.package}@${entry.version} matches nothing installed; remove it if it is stale.`)
if (report.problems.length > 0) {
  for (const { pkg, problem, detail } of report.problems)
    console.error(`licenses: ${problem.toUpperCase()}: ${pkg.name}@${pkg.version} at ${pkg.path}: ${detail}`)
  console.error(
    `licenses: ${report.problems.length} package(s) fail the licence policy. Replace them, or add a reviewed exception with a reason to ${allowFile}.`,
  )
  process.exit(1)
}
console.log('licenses: every package has an allowed licence.')
