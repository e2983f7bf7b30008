/**
 * `bun run sbom`: writes a CycloneDX 1.6 JSON SBOM of the installed dependencies with
 * @cyclonedx/cyclonedx-npm, which reads node_modules through `npm ls` (bun's hoisted
 * node_modules is the tree npm expects) and validates the result against the CycloneDX
 * schema before writing it. By default the SBOM lists what the image ships: production
 * dependencies (and the peers they pull in); `--dev` adds the build and test tools.
 *
 *   bun run sbom [--out sbom.cdx.json] [--dev]
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = resolve(import.meta.dir, '..')
const { values } = parseArgs({ options: { out: { type: 'string' }, dev: { type: 'boolean', default: false } } })
const out = resolve(values.out ?? resolve(ROOT, 'sbom.cdx.json'))
const tool = resolve(ROOT, 'node_modules/.bin/cyclonedx-npm')
if (!existsSync(tool)) {
  console.error('sbom: @cyclonedx/cyclonedx-npm is not installed; run `bun install` (it is a dev dependency).')
  process.exit(1)
}

const args = [
  '--spec-version', '1.6',
  '--output-format', 'JSON',
  '--output-reproducible',
  '--mc-type', 'application',
  '--validate',
  // bun hoists some packages at versions npm's own resolver would not pick (e.g. minimatch 9
  // beside a dependent asking for 3); `npm ls` calls those "invalid" though the tree is what
  // bun.lock pins. The components are still read from node_modules as installed.
  '--ignore-npm-errors',
  ...(values.dev ? [] : ['--omit', 'dev']),
  '--output-file', out,
]
// The tool runs on Node and shells out to npm, which it finds through npm_execpath; under
// `bun run` that names bun, so the npm_* variables are left out and it falls back to `npm`.
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')))
const proc = Bun.spawnSync([tool, ...args], { cwd: ROOT, env, stdout: 'inherit', stderr: 'inherit' })
if (proc.exitCode !== 0 || !existsSync(out)) {
  console.error(`sbom: cyclonedx-npm failed (exit ${proc.exitCode}).`)
  process.exit(1)
}
const bom = (await Bun.file(out).json()) as { bomFormat?: string; specVersion?: string; components?: unknown[] }
console.log(`sbom: wrote ${out} (${bom.bomFormat} ${bom.specVersion}, ${bom.components?.length ?? 0} top-level components${values.dev ? ', dev included' : ''}).`)
