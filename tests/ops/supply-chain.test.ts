/**
 * The supply-chain commands end to end, as CI runs them: `bun run sbom` writes a CycloneDX
 * document naming every production dependency; `bun run licenses` fails on a planted AGPL
 * package and passes it once a reviewed exception names it; `bun run secret-scan` fails on a
 * planted key in a fresh repository and passes it once the allow-list covers it.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '../..')
const scratch = mkdtempSync(join(tmpdir(), 'supply-chain-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function run(args: string[]) {
  const proc = Bun.spawnSync(['bun', 'run', ...args], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() }
}

interface Component {
  name: string
  group?: string
  version: string
  purl: string
  licenses?: Array<{ license?: { id?: string; name?: string }; expression?: string }>
  components?: Component[]
}

test('bun run sbom writes a CycloneDX 1.6 JSON SBOM of the production dependencies', () => {
  const out = join(scratch, 'sbom.cdx.json')
  const result = run(['scripts/sbom.ts', '--out', out])
  expect({ code: result.code, err: result.err }).toMatchObject({ code: 0 })
  const bom = JSON.parse(readFileSync(out, 'utf8')) as {
    bomFormat: string
    specVersion: string
    serialNumber?: string
    metadata: { component: { name: string; version: string; type: string } }
    components: Component[]
    dependencies: Array<{ ref: string; dependsOn?: string[] }>
  }
  expect(bom.bomFormat).toBe('CycloneDX')
  expect(bom.specVersion).toBe('1.6')
  expect(bom.metadata.component).toMatchObject({ name: 'agent-council', version: '0.1.0', type: 'application' })

  const all: Component[] = []
  const walk = (list: Component[] = []) => list.forEach((c) => (all.push(c), walk(c.components)))
  walk(bom.components)
  const fullName = (c: Component) => (c.group ? `${c.group}/${c.name}` : c.name)
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
  for (const name of Object.keys(manifest.dependencies)) {
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    const component = all.find((c) => fullName(c) === name)
    expect({ name, version: component?.version }).toEqual({ name, version: installed.version })
    expect(component!.purl).toBe(`pkg:npm/${name.replace('@', '%40')}@${installed.version}`)
  }
  expect(all.some((c) => fullName(c) === 'drizzle-kit')).toBe(false)
  // Every component states its licence, which is what the licence gate judges too.
  expect(all.filter((c) => !c.licenses?.length).map(fullName)).toEqual([])
  expect(bom.dependencies.length).toBeGreaterThan(0)
}, 60_000)

describe('bun run licenses', () => {
  /** A copy of the project's node_modules (symlinked entries) with one planted AGPL package. */
  function plantedTree(): string {
    const root = join(scratch, 'planted')
    mkdirSync(join(root, 'node_modules/agpl-planted'), { recursive: true })
    for (const entry of readdirSync(join(ROOT, 'node_modules')))
      if (!entry.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', entry), join(root, 'node_modules', entry))
    writeFileSync(
      join(root, 'node_modules/agpl-planted/package.json'),
      JSON.stringify({ name: 'agpl-planted', version: '1.2.3', license: 'AGPL-3.0-only' }),
    )
    return root
  }
  const root = plantedTree()

  test('the real tree passes', () => {
    const result = run(['scripts/licenses.ts'])
    expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: '' })
    expect(result.out).toContain('every package has an allowed licence')
  })

  test('a planted AGPL dependency fails the gate, naming it', () => {
    const result = run(['scripts/licenses.ts', '--root', root])
    expect(result.code).toBe(1)
    expect(result.err).toContain('licenses: DISALLOWED: agpl-planted@1.2.3 at node_modules/agpl-planted: AGPL-3.0-only is on the disallowed list')
    expect(result.err).toContain('1 package(s) fail the licence policy')
  })

  test('a reviewed exception lets it through and is reported', () => {
    const allow = join(scratch, 'allow.json')
    writeFileSync(
      allow,
      JSON.stringify({
        exceptions: [
          // The project's own reviewed exceptions still apply to the rest of the tree.
          ...JSON.parse(readFileSync(join(ROOT, 'compliance/license-allowlist.json'), 'utf8')).exceptions,
          { package: 'agpl-planted', version: '1.2.3', license: 'AGPL-3.0-only', reason: 'test fixture, proves exceptions apply' },
        ],
      }),
    )
    const result = run(['scripts/licenses.ts', '--root', root, '--allow', allow])
    expect(result.code).toBe(0)
    expect(result.out).toContain('allowed by exception: agpl-planted@1.2.3 (AGPL-3.0-only): test fixture, proves exceptions apply')
  })
})

describe('bun run secret-scan', () => {
  const repo = join(scratch, 'repo')
  const key = ['ghp_', 'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa'].join('')
  mkdirSync(join(repo, 'src'), { recursive: true })
  writeFileSync(join(repo, 'src/clean.ts'), 'export const url = "postgres://postgres@127.0.0.1:5432/test"\n')
  writeFileSync(join(repo, 'src/leak.ts'), `export const token = '${key}'\n`)
  writeFileSync(join(repo, '.gitignore'), 'ignored.txt\n')
  writeFileSync(join(repo, 'ignored.txt'), `${key}\n`)
  Bun.spawnSync(['git', 'init', '-q'], { cwd: repo })

  test('a planted token fails the scan with its place and a masked value; ignored files are not read', () => {
    const allow = join(scratch, 'secrets-empty.json')
    writeFileSync(allow, JSON.stringify({ allow: [] }))
    const result = run(['scripts/secret-scan.ts', '--root', repo, '--allow', allow])
    expect(result.code).toBe(1)
    expect(result.err).toContain('secret-scan: src/leak.ts:1: github-token: ghp_Zx…cBa (40 chars)')
    expect(result.err).not.toContain(key)
    expect(result.err).not.toContain('ignored.txt')
    expect(result.out).toContain('3 files scanned, 1 finding(s)')
  })

  test('an allow-list entry covers it', () => {
    const allow = join(scratch, 'secrets-allow.json')
    writeFileSync(allow, JSON.stringify({ allow: [{ path: 'src/leak.ts', rule: 'github-token', reason: 'revoked token kept as a fixture' }] }))
    const result = run(['scripts/secret-scan.ts', '--root', repo, '--allow', allow])
    expect(result.code).toBe(0)
    expect(result.out).toContain('no secrets found')
  })

  test('the project tree passes', () => {
    const result = run(['scripts/secret-scan.ts'])
    expect({ code: result.code, err: result.err }).toEqual({ code: 0, err: '' })
  })
})
