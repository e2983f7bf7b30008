/**
 * Docs that name the tests proving what they claim, as `path` › "test name"
 * (docs/DATA_HANDLING.md, docs/security-review.md): their text, the tests they
 * name, and which of those do not exist, so a renamed or deleted test fails the doc's own test.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..', '..')

interface NamedTest {
  file: string
  name: string
}

/** A file of the repository, by its path from the root. */
export const readRepoFile = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Every reference `pattern` (global; group 1 the file, group 2 the test's name) finds in `text`. */
export const namedTests = (text: string, pattern: RegExp): NamedTest[] => [...text.matchAll(pattern)].map((match) => ({ file: match[1]!, name: match[2]! }))

/**
 * The references whose file or test does not exist, one line each (`file (no such file)`, `file › "name"`).
 * @example
 * expect(missingTests(namedTests(doc, REFERENCE))).toEqual([])
 */
export function missingTests(named: NamedTest[]): string[] {
  const missing: string[] = []
  for (const { file, name } of named) {
    const path = join(ROOT, file)
    if (!existsSync(path)) {
      missing.push(`${file} (no such file)`)
      continue
    }
    // A test's name may sit on the line after `test(` (long names): compare with whitespace collapsed.
    const source = readFileSync(path, 'utf8').replace(/\s+/g, ' ')
    const declared = ["'", '"', '`'].some((quote) => source.includes(`test(${quote}${name}${quote}`) || source.includes(`test( ${quote}${name}${quote}`))
    if (!declared) missing.push(`${file} › "${name}"`)
  }
  return missing
}
