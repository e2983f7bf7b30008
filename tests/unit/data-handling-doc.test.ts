/**
 * docs/DATA_HANDLING.md names, for each row of its matrix, the tests that prove
 * it, as `path` › "test name". Every one must exist — a renamed or deleted test
 * fails here — and every row but the placeholders must name at least one.
 */
import { describe, expect, test } from 'bun:test'
import { missingTests, namedTests, readRepoFile } from '../helpers/doc-tests'

const DOC = readRepoFile('docs/DATA_HANDLING.md')
const REFERENCE = /`(tests\/[^`]+\.test\.ts)` › "([^"]+)"/g

const references = (text: string) => namedTests(text, REFERENCE)

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
    expect(missingTests(named)).toEqual([])
  })
})
