/** docs/DATA_HANDLING.md names the tests that prove each row: every one it names exists, by file and name. */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '../../..')

test('every test named in docs/DATA_HANDLING.md exists in the file it names', () => {
  const doc = readFileSync(join(ROOT, 'docs/DATA_HANDLING.md'), 'utf8')
  // Each "`tests/….test.ts` — "name"; "name"" (or the matrix's "`tests/….test.ts` › "name"") runs until the next file, table
  // cell, list item, closing parenthesis or blank line.
  const named: Array<{ file: string; name: string }> = []
  for (const reference of doc.split(/(?=`tests\/)/).slice(1)) {
    const file = /^`(tests\/[\w/.-]+\.test\.ts)` [—›]/.exec(reference)?.[1]
    if (!file) continue
    const span = reference.split(/\||\n\s*\n|\n- |(?<=")\)/)[0]!
    for (const match of span.matchAll(/"([^"]+)"/g)) named.push({ file, name: match[1]! })
  }
  expect(named.length).toBeGreaterThanOrEqual(15)
  for (const { file, name } of named) {
    const source = readFileSync(join(ROOT, file), 'utf8').replace(/\s+/g, ' ')
    expect({ file, name, found: source.includes(name.replace(/\s+/g, ' ')) }).toEqual({ file, name, found: true })
  }
})
