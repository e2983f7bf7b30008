/**
 * The licence gate: every installed package must carry a licence we can name, and none
 * may be one of the disallowed ones (strong copyleft that would bind how the app is
 * offered: AGPL, GPL, SSPL) unless a reviewed allow-list entry says why it is fine.
 * The inventory is node_modules itself, nested copies included: that is what runs and
 * what the image ships, whatever the lockfile says.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

export interface InstalledPackage {
  name: string
  version: string
  /** The licence as declared (`license`, or the old `licenses` array joined by OR); null when missing. */
  license: string | null
  /** Where it sits, relative to the project root. */
  path: string
}

export interface AllowEntry {
  package: string
  /** Exact version, or `*` for any. */
  version: string
  /** The licence the package declares, as a reviewer saw it (the entry stops applying if it changes). */
  license: string
  reason: string
}

interface LicenseProblem {
  pkg: InstalledPackage
  problem: 'disallowed' | 'unknown'
  detail: string
}

export interface LicenseReport {
  checked: number
  problems: LicenseProblem[]
  /** Packages let through by an allow-list entry, with its reason. */
  allowed: Array<{ pkg: InstalledPackage; reason: string }>
  /** Allow-list entries that matched nothing installed (worth removing). */
  unused: AllowEntry[]
}

/**
 * Identifiers that fail the gate: AGPL, GPL and SSPL in every version and form (`GPL-3.0-only`,
 * `GPL-2.0+`, the legacy `GPLv3`). LGPL is not among them: linking to it binds nothing here.
 */
const DISALLOWED = /^(AGPL|GPL|SSPL)/i

/** Values that say there is no usable licence: proprietary, or a pointer the gate cannot judge. */
const UNKNOWN = /^(UNKNOWN|UNLICENSED|NONE|SEE LICENSE IN\b.*|CUSTOM)$/i
const SPDX_ID = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/

function declaredLicense(manifest: Record<string, unknown>): string | null {
  const single = manifest.license
  if (typeof single === 'string' && single.trim()) return single.trim()
  if (single && typeof single === 'object' && typeof (single as { type?: unknown }).type === 'string')
    return (single as { type: string }).type
  if (Array.isArray(manifest.licenses)) {
    const types = manifest.licenses
      .map((entry) => (typeof entry === 'string' ? entry : (entry as { type?: unknown })?.type))
      .filter((type): type is string => typeof type === 'string' && type.length > 0)
    if (types.length === 1) return types[0]!
    if (types.length > 1) return `(${types.join(' OR ')})`
  }
  return null
}

/**
 * Every package under `root`/node_modules, nested node_modules included.
 * @example
 * const installed = listInstalledPackages(process.cwd())
 */
export function listInstalledPackages(root: string): InstalledPackage[] {
  const found: InstalledPackage[] = []
  const visitModules = (modules: string) => {
    if (!existsSync(modules)) return
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || !(entry.isDirectory() || entry.isSymbolicLink())) continue
      const dir = join(modules, entry.name)
      if (entry.name.startsWith('@')) for (const scoped of readdirSync(dir)) visitPackage(join(dir, scoped))
      else visitPackage(dir)
    }
  }
  const visitPackage = (dir: string) => {
    const manifestPath = join(dir, 'package.json')
    if (!existsSync(manifestPath)) return
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>
    if (typeof manifest.name === 'string')
      found.push({ name: manifest.name, version: String(manifest.version ?? ''), license: declaredLicense(manifest), path: relative(root, dir) })
    visitModules(join(dir, 'node_modules'))
  }
  visitModules(join(root, 'node_modules'))
  return found.sort((a, b) => a.path.localeCompare(b.path))
}

type Verdict = { ok: true } | { ok: false; problem: 'disallowed' | 'unknown'; detail: string }

/**
 * Judges an SPDX expression: `A OR B` passes when either passes, `A AND B` when both do;
 * `X WITH exception` is judged as X. Anything unparseable is unknown.
 * @example
 * judgeLicense('(MIT OR GPL-3.0-only)') // → { ok: true }
 */
export function judgeLicense(license: string | null): Verdict {
  if (!license) return { ok: false, problem: 'unknown', detail: 'no licence declared' }
  if (UNKNOWN.test(license.trim())) return { ok: false, problem: 'unknown', detail: `"${license}" names no licence the gate can judge` }
  const tokens = license.match(/\(|\)|[^\s()]+/g) ?? []
  let at = 0
  const fail = (detail: string): Verdict => ({ ok: false, problem: 'unknown', detail })
  const combine = (a: Verdict, b: Verdict, op: 'AND' | 'OR'): Verdict => {
    if (op === 'OR') return a.ok ? a : b.ok ? b : a.problem === 'unknown' ? a : b
    return !a.ok ? a : b
  }
  const primary = (): Verdict => {
    const token = tokens[at++]
    if (token === '(') {
      const inner = expression()
      if (tokens[at++] !== ')') return fail(`unbalanced parentheses in "${license}"`)
      return inner
    }
    if (!token || !SPDX_ID.test(token) || /^(AND|OR|WITH)$/i.test(token)) return fail(`"${license}" is not an SPDX expression`)
    if (/^WITH$/i.test(tokens[at] ?? '')) at += 2
    if (DISALLOWED.test(token)) return { ok: false, problem: 'disallowed', detail: `${token} is on the disallowed list` }
    if (UNKNOWN.test(token)) return fail(`"${token}" names no licence`)
    return { ok: true }
  }
  const conjunction = (): Verdict => {
    let left = primary()
    while (/^AND$/i.test(tokens[at] ?? '')) {
      at++
      left = combine(left, primary(), 'AND')
    }
    return left
  }
  const expression = (): Verdict => {
    let left = conjunction()
    while (/^OR$/i.test(tokens[at] ?? '')) {
      at++
      left = combine(left, conjunction(), 'OR')
    }
    return left
  }
  const verdict = expression()
  if (at !== tokens.length) return fail(`"${license}" is not an SPDX expression`)
  return verdict
}

/** Checks the allow-list file's own shape: every entry names a package, version, licence and a real reason. */
/** How an allow-list entry names a package that declares no licence at all. */
export const NO_LICENSE = '(none)'

export function parseAllowList(text: string, source = 'allow-list'): AllowEntry[] {
  const parsed = JSON.parse(text) as { exceptions?: unknown }
  if (!Array.isArray(parsed.exceptions)) throw new Error(`${source}: expected { "exceptions": [...] }`)
  return parsed.exceptions.map((entry, i) => {
    const e = entry as Partial<AllowEntry>
    for (const field of ['package', 'version', 'license', 'reason'] as const)
      if (typeof e[field] !== 'string' || !e[field]!.trim()) throw new Error(`${source}: exception #${i + 1} needs "${field}"`)
    if (e.reason!.trim().length < 15) throw new Error(`${source}: exception #${i + 1} (${e.package}) needs a reason a reviewer can check`)
    return e as AllowEntry
  })
}

/**
 * Applies the policy and the allow-list to an inventory.
 * @example
 * const report = checkLicenses(listInstalledPackages(root), parseAllowList(text))
 */
export function checkLicenses(packages: InstalledPackage[], allowList: AllowEntry[]): LicenseReport {
  const used = new Set<AllowEntry>()
  const problems: LicenseProblem[] = []
  const allowed: LicenseReport['allowed'] = []
  for (const pkg of packages) {
    const verdict = judgeLicense(pkg.license)
    if (verdict.ok) continue
    const entry = allowList.find(
      (e) => e.package === pkg.name && (e.version === '*' || e.version === pkg.version) && e.license === (pkg.license ?? NO_LICENSE),
    )
    if (entry) {
      used.add(entry)
      allowed.push({ pkg, reason: entry.reason })
    } else problems.push({ pkg, problem: verdict.problem, detail: verdict.detail })
  }
  return { checked: packages.length, problems, allowed, unused: allowList.filter((e) => !used.has(e)) }
}
