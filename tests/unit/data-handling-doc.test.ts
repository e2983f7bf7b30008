/**
 * docs/DATA_HANDLING.md names, for each row of its matrix, the tests that prove
 * it, as `path` › "test name". Every one must exist — a renamed or deleted test
 * fails here — and every row but the placeholders must name at least one.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')
const DOC = readFileSync(join(ROOT, 'docs', 'DATA_HANDLING.md'), 'utf8')
const REFERENCE = /`(tests\/[^`]+\.test\.ts)` › "([^"]+)"/g

const references = (text: string) => [...text.matchAll(REFERENCE)].map((match) => ({ file: match[1]!, name: match[2]! }))

/** The matrix's data rows: table lines after the header and its separator. */
const rows = DOC.slice(DOC.indexOf('## The matrix'))
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| data ') && !line.startsWith('|---'))

describe('docs/DATA_HANDLING.md', () => {
  test('the matrix has the seed’s rows and each (but the documents placeholders) names a test', () => {
    const data = rows.map((row) => row.split('|')[1]!.trim())
    for (const seeded of ['User identity', 'Session metadata', 'Uploaded file bytes', 'Extracted text', 'Prompts', 'Web search queries', 'LLM call and job logs', 'Audit events'])
      expect(data.some((cell) => cell.includes(seeded))).toBe(true)
    for (const row of rows) if (!row.includes('PLACEHOLDER')) expect({ row: row.slice(0, 60), tests: references(row).length > 0 }).toEqual({ row: row.slice(0, 60), tests: true })
  })

  test('every test it names exists, under that name, in that file', () => {
    const named = references(DOC)
    expect(named.length).toBeGreaterThan(10)
    const missing: string[] = []
    for (const { file, name } of named) {
      const path = join(ROOT, file)
      if (!existsSync(path)) {
        missing.push(`${file} (no such file)`)
        continue
      }
      // A test's name may sit on the line after `test(` (long names): compare with whitespace collapsed.
      const source = readFileSync(path, 'utf8').replace(/\s+/g, ' ')
      const declared = ['\'', '"', '`'].some((quote) => source.includes(`test(${quote}${name}${quote}`) || source.includes(`test( ${quote}${name}${quote}`))
      if (!declared) missing.push(`${file} › "${name}"`)
    }
    expect(missing).toEqual([])
  })
})
