/**
 * docs/security-review.md names, for each threat of the seed's model (002 §6),
 * each OWASP ASVS L2 requirement it covers (V2, V3, V4, V5, V12, V13) and each
 * finding of the outside test (issue 14), the control, the file it lives in
 * and the test that proves it, as `path` › "test name". Every test it names
 * must exist under that name in that file — a renamed or deleted test fails
 * here — and every file it names as a control's home must exist.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, missingTests, namedTests, readRepoFile } from '../helpers/doc-tests'

const DOC = readRepoFile('docs/security-review.md')
/** `file` › "name": the name runs to the quote before the next reference (`;`) or the end of the cell, so it may hold quotes. */
const REFERENCE = /`((?:tests|plugins)\/[^`]+\.test\.ts)` › "(.+?)"(?=\s*(?:;|\||$))/gm
/** A file named as where a control lives: `src/…`, `plugins/…`, `views/…`, `db/…`, `scripts/…`, `workers/…`. */
const HOME = /`((?:src|plugins|views|db|scripts|workers)\/[^`\s]+\.(?:ts|tsx))`/g

const references = (text: string) => namedTests(text, REFERENCE)

/** The data rows of the tables in one section (from its heading to the next heading of the same or a higher level). */
function rowsOf(heading: string): string[] {
  const start = DOC.indexOf(heading)
  if (start < 0) return []
  const level = /^#+/.exec(heading)![0].length
  const rest = DOC.slice(start + heading.length)
  const end = rest.search(new RegExp(`\\n#{1,${level}} `))
  return (end < 0 ? rest : rest.slice(0, end))
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('|---'))
    .slice(1)
}

const THREATS = ['Cross-user data access', 'Header spoofing', 'Sensitive data exfiltration', 'Malicious file upload', 'Prompt injection via uploads', 'Budget runaway', 'XSS in rendered markdown']
const ASVS = ['### V2 ', '### V3 ', '### V4 ', '### V5 ', '### V12 ', '### V13 ']

describe('docs/security-review.md', () => {
  test('covers every threat of the seed’s model, each with a test', () => {
    const rows = rowsOf('## Threat model')
    for (const threat of THREATS) {
      const row = rows.find((line) => line.split('|')[1]!.includes(threat))
      expect({ threat, row: Boolean(row), tests: row ? references(row).length > 0 : false }).toEqual({ threat, row: true, tests: true })
    }
  })

  test('covers ASVS V2, V3, V4, V5, V12 and V13, every row with a test', () => {
    for (const section of ASVS) {
      const rows = rowsOf(DOC.split('\n').find((line) => line.startsWith(section)) ?? section)
      expect({ section, rows: rows.length > 0 }).toEqual({ section, rows: true })
      for (const row of rows) expect({ row: row.slice(0, 70), tests: references(row).length > 0 }).toEqual({ row: row.slice(0, 70), tests: true })
    }
  })

  test('lists the ten findings of the outside test, each with its fix and a test', () => {
    const rows = rowsOf('## Findings of the outside test')
    const numbers = rows.map((row) => Number(row.split('|')[1]!.trim()))
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    for (const row of rows) expect({ row: row.slice(0, 70), tests: references(row).length > 0 }).toEqual({ row: row.slice(0, 70), tests: true })
  })

  test('every test it names exists, under that name, in that file', () => {
    const named = references(DOC)
    expect(named.length).toBeGreaterThan(40)
    expect(missingTests(named)).toEqual([])
  })

  test('every file it names as a control’s home exists', () => {
    const homes = [...new Set([...DOC.matchAll(HOME)].map((match) => match[1]!))]
    expect(homes.length).toBeGreaterThan(15)
    expect(homes.filter((file) => !existsSync(join(ROOT, file)))).toEqual([])
  })
})
