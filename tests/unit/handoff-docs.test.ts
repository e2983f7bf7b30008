/**
 * The handoff docs match the code (issue 13 item 8):
 *  - every environment variable the code reads (what loadConfig asks for, any `read(…, 'X')`
 *    and any `process.env.X` in src, plugins, workers) is a row of README's configuration
 *    table and of DEPLOY.md's development-vs-production matrix, and neither documents a
 *    variable nothing reads;
 *  - every `bun run <x>` in the README and docs/*.md is a package.json script, a file that
 *    exists, or (`bun run bench <name>`) a benchmark in tests/load;
 *  - every test file the docs name exists.
 * A failure names the variable, command or file, and the document it is missing from.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../src/config'

const ROOT = join(import.meta.dir, '..', '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Source files (not tests) under a directory, recursively. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file))
    .map((file) => join(dir, file))
}

/** Variable → where it is read, from the source text. */
function variablesInCode(): Map<string, string> {
  const found = new Map<string, string>()
  const note = (name: string, file: string) => found.has(name) || found.set(name, file)
  const files = [...sources('src/config'), ...sources('src'), ...sources('plugins'), ...sources('workers')]
  for (const file of new Set(files)) {
    const text = read(file)
    // The config reader: read(env, 'NAME', …) in src/config/index.ts, read('NAME', …) in its sections (and in any plugin's).
    for (const match of text.matchAll(/\bread\(\s*(?:[A-Za-z_]+\s*,\s*)?'([A-Z][A-Z0-9_]*)'/g)) note(match[1]!, file)
    // Anything that reads the environment directly.
    for (const match of text.matchAll(/(?:process\.env|Bun\.env)(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g))
      note((match[1] ?? match[2])!, file)
  }
  // And whatever loadConfig asks the environment for, however it is written.
  for (const name of touchedByLoadConfig()) note(name, 'loadConfig (src/config)')
  return found
}

/** The names loadConfig reads, seen through a recording environment. */
function touchedByLoadConfig(): Set<string> {
  const touched = new Set<string>()
  const env = new Proxy({ APP_ENV: 'test' } as Record<string, string | undefined>, {
    get(target, name) {
      if (typeof name === 'string') touched.add(name)
      return target[name as string]
    },
  })
  loadConfig(env)
  return touched
}

/** The names in the first cell of each table row of a section (`## heading` up to the next `## `). */
function documentedVariables(path: string, heading: string): Set<string> | null {
  const text = read(path)
  const start = text.indexOf(`\n## ${heading}`)
  if (start < 0) return null
  const end = text.indexOf('\n## ', start + 1)
  const names = new Set<string>()
  for (const line of text.slice(start, end < 0 ? undefined : end).split('\n')) {
    if (!line.startsWith('| ')) continue
    const first = line.split('|')[1] ?? ''
    for (const match of first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(match[1]!)
  }
  return names
}

const code = variablesInCode()
const DOCUMENTS = [
  { path: 'README.md', heading: 'Configuration', what: "README.md's configuration table (## Configuration)" },
  { path: 'docs/DEPLOY.md', heading: 'Environment variables: development vs production', what: "docs/DEPLOY.md's env-var matrix (## Environment variables: development vs production)" },
]

describe('environment variables: code and docs agree', () => {
  test('loadConfig is seen reading the environment (the recording works)', () => {
    expect(touchedByLoadConfig().size).toBeGreaterThan(50)
  })

  for (const doc of DOCUMENTS)
    test(`every variable the code reads is in ${doc.path}, and nothing else is`, () => {
      const documented = documentedVariables(doc.path, doc.heading)
      expect({ section: doc.what, found: documented !== null }).toEqual({ section: doc.what, found: true })
      const missing = [...code].filter(([name]) => !documented!.has(name)).map(([name, file]) => `${name} (read in ${file}) is missing from ${doc.what}`)
      const unknown = [...documented!].filter((name) => !code.has(name)).map((name) => `${name} is documented in ${doc.what} but nothing in src/config, src, plugins or workers reads it`)
      expect([...missing, ...unknown]).toEqual([])
    })
})

const DOC_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)]

describe('commands and tests the docs name exist', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts

  test('every `bun run …` in README.md and docs/*.md is a package.json script or a file', () => {
    const problems: string[] = []
    let seen = 0
    for (const path of DOC_FILES)
      for (const match of read(path).matchAll(/\bbun run ([A-Za-z0-9:._/-]+)(?:\s+(?:--\s+)?([A-Za-z0-9_-]+))?/g)) {
        const [, name, argument] = match
        seen++
        if (name!.includes('/') || /\.tsx?$/.test(name!)) {
          if (!existsSync(join(ROOT, name!))) problems.push(`${path}: \`bun run ${name}\` names a file that does not exist`)
        } else if (!(name! in scripts)) problems.push(`${path}: \`bun run ${name}\` is not a script in package.json`)
        else if (name === 'bench' && argument && !argument.startsWith('-') && !existsSync(join(ROOT, 'tests/load', `${argument}.bench.ts`)))
          problems.push(`${path}: \`bun run bench ${argument}\` has no tests/load/${argument}.bench.ts`)
      }
    expect(seen).toBeGreaterThan(40)
    expect(problems).toEqual([])
  })

  test('the runbook and the deploy guide use the operator commands, and each exists', () => {
    const used = (path: string) => new Set([...read(path).matchAll(/\bbun run ([a-z][a-z:-]*)/g)].map((match) => match[1]!))
    for (const name of ['backup', 'verify-backups', 'restore', 'migrate', 'retention']) {
      expect({ name, inRunbook: used('docs/RUNBOOK.md').has(name) }).toEqual({ name, inRunbook: true })
      expect({ name, script: name in scripts }).toEqual({ name, script: true })
    }
  })

  test('every test file (tests/…, plugins/…) named in README.md and docs/*.md exists', () => {
    const problems: string[] = []
    for (const path of DOC_FILES)
      for (const match of read(path).matchAll(/\b((?:tests|plugins)\/[A-Za-z0-9_./-]+\.test\.tsx?)/g))
        if (!existsSync(join(ROOT, match[1]!))) problems.push(`${path} names ${match[1]}, which does not exist`)
    expect(problems).toEqual([])
  })
})
