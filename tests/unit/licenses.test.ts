/** The licence policy (scripts/lib/licenses.ts): SPDX expressions, the disallowed list, the allow-list. */
import { describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkLicenses, judgeLicense, listInstalledPackages, NO_LICENSE, parseAllowList, type InstalledPackage } from '../../scripts/lib/licenses'

const pkg = (name: string, license: string | null, version = '1.0.0'): InstalledPackage => ({ name, version, license, path: `node_modules/${name}` })

describe('judgeLicense', () => {
  test.each(['MIT', 'Apache-2.0', 'ISC', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'LGPL-3.0-only', '(MIT OR WTFPL)', '(MIT OR GPL-3.0-only)', 'MIT AND ISC', '(BSD-2-Clause OR MIT OR Apache-2.0)'])(
    '%s passes',
    (license) => {
      expect(judgeLicense(license)).toEqual({ ok: true })
    },
  )

  test.each([
    'AGPL-3.0-only',
    'AGPL-3.0-or-later',
    'AGPL-3.0',
    'GPL-2.0-only',
    'GPL-3.0+',
    'GPLv3',
    'SSPL-1.0',
    'MIT AND GPL-3.0-only',
    '(GPL-2.0-only OR AGPL-3.0-only)',
    'GPL-2.0-only WITH Classpath-exception-2.0',
  ])('%s is disallowed', (license) => {
    expect(judgeLicense(license)).toMatchObject({ ok: false, problem: 'disallowed' })
  })

  test.each([null, '', 'UNLICENSED', 'UNKNOWN', 'SEE LICENSE IN LICENSE.md', 'Custom', 'MIT OR', '(MIT', 'GNU General Public License'])(
    '%p is unknown',
    (license) => {
      expect(judgeLicense(license as string | null)).toMatchObject({ ok: false, problem: 'unknown' })
    },
  )

  test('an unknown alternative does not hide behind an OR with a disallowed one', () => {
    expect(judgeLicense('(UNLICENSED OR GPL-3.0-only)')).toMatchObject({ ok: false, problem: 'unknown' })
  })
})

describe('checkLicenses with an allow-list', () => {
  const allow = parseAllowList(
    JSON.stringify({
      exceptions: [
        { package: 'gpl-tool', version: '2.0.0', license: 'GPL-3.0-only', reason: 'dev-only formatter, never shipped in the image' },
        { package: 'gone', version: '*', license: 'AGPL-3.0-only', reason: 'was replaced in 0.3, entry kept by mistake' },
      ],
    }),
  )

  test('a planted AGPL package fails; an excepted GPL one passes with its reason; a stale entry is reported', () => {
    const report = checkLicenses([pkg('elysia', 'MIT'), pkg('agpl-thing', 'AGPL-3.0-only'), pkg('gpl-tool', 'GPL-3.0-only', '2.0.0'), pkg('no-licence', null)], allow)
    expect(report.checked).toBe(4)
    expect(report.problems.map((p) => [p.pkg.name, p.problem])).toEqual([
      ['agpl-thing', 'disallowed'],
      ['no-licence', 'unknown'],
    ])
    expect(report.allowed.map((a) => [a.pkg.name, a.reason])).toEqual([['gpl-tool', 'dev-only formatter, never shipped in the image']])
    expect(report.unused.map((e) => e.package)).toEqual(['gone'])
  })

  test('an exception stops applying when the version or the declared licence changes', () => {
    const report = checkLicenses([pkg('gpl-tool', 'GPL-3.0-only', '2.1.0'), pkg('gpl-tool', 'AGPL-3.0-only', '2.0.0')], allow)
    expect(report.problems.length).toBe(2)
  })

  test('a package that declares no licence passes only through an entry naming "(none)"', () => {
    const none = parseAllowList(JSON.stringify({ exceptions: [{ package: 'no-licence', version: '1.0.0', license: NO_LICENSE, reason: 'its readme says MIT; dev-only' }] }))
    expect(checkLicenses([pkg('no-licence', null)], none).problems).toEqual([])
    expect(checkLicenses([pkg('no-licence', 'MIT OR')], none).problems.length).toBe(1)
  })

  test.each([
    [{}, 'expected { "exceptions": [...] }'],
    [{ exceptions: [{ package: 'x', version: '1', license: 'GPL-3.0' }] }, 'needs "reason"'],
    [{ exceptions: [{ package: 'x', version: '1', license: 'GPL-3.0', reason: 'fine' }] }, 'needs a reason a reviewer can check'],
  ])('an allow-list of the wrong shape is refused (%#)', (value, message) => {
    expect(() => parseAllowList(JSON.stringify(value), 'allow.json')).toThrow(message)
  })
})

test('listInstalledPackages walks scoped and nested node_modules and reads every licence form', () => {
  const root = mkdtempSync(join(tmpdir(), 'licenses-'))
  try {
    const write = (dir: string, manifest: object) => {
      mkdirSync(join(root, dir), { recursive: true })
      writeFileSync(join(root, dir, 'package.json'), JSON.stringify(manifest))
    }
    write('node_modules/plain', { name: 'plain', version: '1.0.0', license: 'MIT' })
    write('node_modules/@scope/obj', { name: '@scope/obj', version: '2.0.0', license: { type: 'ISC' } })
    write('node_modules/plain/node_modules/old', { name: 'old', version: '0.1.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] })
    write('node_modules/none', { name: 'none', version: '3.0.0' })
    write('node_modules/plain/lib/esm', { type: 'module' })
    mkdirSync(join(root, 'node_modules/.bin'), { recursive: true })
    expect(listInstalledPackages(root).map((p) => [p.path, p.name, p.license])).toEqual([
      ['node_modules/@scope/obj', '@scope/obj', 'ISC'],
      ['node_modules/none', 'none', null],
      ['node_modules/plain', 'plain', 'MIT'],
      ['node_modules/plain/node_modules/old', 'old', '(MIT OR Apache-2.0)'],
    ])
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
