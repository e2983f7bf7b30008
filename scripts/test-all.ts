/**
 * `bun run test`: every check and test suite of the project, in order, each in
 * its own subprocess, with one aggregated result. CI (`.ci/run`) runs exactly this.
 *
 *   checks       typecheck (tsc), XSS scan (@kitajs/ts-html-plugin), db:check, licences,
 *                secret scan, container lint (Dockerfile, compose.yaml), dead code (knip:
 *                unused files, exports, exported types, dependencies), import cycles
 *                (madge) — one test each
 *   plugins      bun test ./plugins: every *.test.ts beside a plugin (no services needed)
 *   unit         bun test ./tests/unit
 *   ops          bun test ./tests/ops (compose services as processes, SBOM, licence and secret gates; PostgreSQL)
 *   integration  bun test ./tests/integration, on libsql and again on PostgreSQL (TEST_DATABASE_URL)
 *   e2e          bun test ./tests/e2e (real server + Debian chromium)
 *
 * Counts come from each suite's JUnit report (bun's own summary is on stderr and
 * in no stable form). The last line printed is always
 * `tests: N passed, N failed[, N skipped]`; the exit code is 1 if anything failed,
 * crashed, timed out, wrote no report, or a suite directory holds no tests.
 *
 * Local use: `bun run test -- --only unit,integration:libsql` (see --help).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')
const REPORT_DIR = join(ROOT, 'test-results')
const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test'
/** CI allows 30 minutes; stop well before, so the summary line is always printed. */
const BUDGET_MS = Number(process.env.TEST_ALL_BUDGET_MS ?? 25 * 60_000)
const KILL_GRACE_MS = 10_000

type Env = Record<string, string | undefined>

interface Step {
  name: string
  /** Names `--only` selects this step by. */
  tags: string[]
  cmd: string[]
  env?: Env
  timeoutMs: number
  /** A check counts as one test; a suite is counted from its JUnit report. */
  kind: 'check' | 'suite'
  /** Suite directory, relative to the project root. */
  dir?: string
  /** For checks: did it pass, given its exit code and output? Defaults to exit code 0. */
  judge?: (code: number, output: string) => { ok: boolean; note?: string }
}

interface Result {
  step: Step
  passed: number
  failed: number
  skipped: number
  ok: boolean
  note: string
  ms: number
}

const withoutPg = (): Env => ({ ...process.env, TEST_DATABASE_URL: undefined })
const withPg = (): Env => ({ ...process.env, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL || DEFAULT_PG_URL })

const STEPS: Step[] = [
  { name: 'typecheck', tags: ['checks', 'typecheck', 'tsc'], kind: 'check', cmd: ['bunx', 'tsc', '--noEmit'], timeoutMs: 5 * 60_000 },
  {
    name: 'xss-scan',
    tags: ['checks', 'xss-scan', 'xss'],
    kind: 'check',
    cmd: ['bunx', 'xss-scan'],
    timeoutMs: 5 * 60_000,
    // Exit 1: an error (e.g. K601, a user value rendered without `safe`). Exit 2: only warnings
    // (e.g. K604, an unneeded `safe`), which cannot let markup through. The CLI exits 0 even
    // when it crashes (main().catch(console.error)), so a pass must also say it scanned.
    judge: (code, output) => {
      if (code === 2) return { ok: true, note: 'warnings only' }
      if (code === 0 && /No XSS vulnerabilities found/.test(output)) return { ok: true }
      return { ok: false, note: code === 0 ? 'scanner did not report a result' : `exit ${code}` }
    },
  },
  { name: 'db:check', tags: ['checks', 'db-check', 'db:check'], kind: 'check', cmd: ['bun', 'run', 'db:check'], timeoutMs: 5 * 60_000 },
  { name: 'licenses', tags: ['checks', 'licenses', 'supply-chain'], kind: 'check', cmd: ['bun', 'run', 'licenses'], timeoutMs: 2 * 60_000 },
  { name: 'secret-scan', tags: ['checks', 'secret-scan', 'supply-chain'], kind: 'check', cmd: ['bun', 'run', 'secret-scan'], timeoutMs: 2 * 60_000 },
  {
    name: 'lint:containers',
    tags: ['checks', 'lint-containers', 'lint:containers', 'containers'],
    kind: 'check',
    cmd: ['bun', 'run', 'lint:containers'],
    timeoutMs: 2 * 60_000,
  },
  // knip.jsonc says what counts as used; package.json's lint:cycles which directories madge walks.
  { name: 'deadcode', tags: ['checks', 'deadcode', 'knip'], kind: 'check', cmd: ['bun', 'run', 'lint:deadcode'], timeoutMs: 5 * 60_000 },
  { name: 'cycles', tags: ['checks', 'cycles', 'madge'], kind: 'check', cmd: ['bun', 'run', 'lint:cycles'], timeoutMs: 5 * 60_000 },
  { name: 'plugins', tags: ['plugins'], kind: 'suite', dir: 'plugins', cmd: [], env: withoutPg(), timeoutMs: 5 * 60_000 },
  { name: 'unit', tags: ['unit'], kind: 'suite', dir: 'tests/unit', cmd: [], env: withoutPg(), timeoutMs: 10 * 60_000 },
  { name: 'ops', tags: ['ops'], kind: 'suite', dir: 'tests/ops', cmd: [], env: withPg(), timeoutMs: 10 * 60_000 },
  {
    name: 'integration (libsql)',
    tags: ['integration', 'integration:libsql', 'libsql'],
    kind: 'suite',
    dir: 'tests/integration',
    cmd: [],
    env: withoutPg(),
    timeoutMs: 10 * 60_000,
  },
  {
    name: 'integration (postgres)',
    tags: ['integration', 'integration:pg', 'pg', 'postgres'],
    kind: 'suite',
    dir: 'tests/integration',
    cmd: [],
    env: withPg(),
    timeoutMs: 10 * 60_000,
  },
  { name: 'e2e', tags: ['e2e'], kind: 'suite', dir: 'tests/e2e', cmd: [], timeoutMs: 10 * 60_000 },
]

const HELP = `Usage: bun run test [-- --only <names>]

Runs, in order: ${STEPS.map((step) => step.name).join(', ')}.
  --only a,b   run only the steps with these names, e.g. --only checks,unit or --only integration:pg
               names: ${[...new Set(STEPS.flatMap((step) => step.tags))].join(', ')}
Environment: TEST_DATABASE_URL (PostgreSQL for the second integration run, default ${DEFAULT_PG_URL}),
             TEST_ALL_BUDGET_MS (time budget for the whole run, default 25 minutes).`

function parseArgs(argv: string[]): Step[] {
  let only: string[] | null = null
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') continue
    if (arg === '--help' || arg === '-h') {
      console.log(HELP)
      process.exit(0)
    }
    if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length)
      only = [...(only ?? []), ...(value ?? '').split(',').map((name) => name.trim()).filter(Boolean)]
      continue
    }
    console.error(`test-all: unknown argument "${arg}"\n\n${HELP}`)
    process.exit(2)
  }
  if (!only) return STEPS
  const known = new Set(STEPS.flatMap((step) => step.tags))
  const unknown = only.filter((name) => !known.has(name))
  if (unknown.length > 0 || only.length === 0) {
    console.error(`test-all: unknown step name(s) ${unknown.join(', ') || '(none given)'}\n\n${HELP}`)
    process.exit(2)
  }
  return STEPS.filter((step) => step.tags.some((tag) => only!.includes(tag)))
}

const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$|_(test|spec)_/

function countTestFiles(dir: string): number {
  if (!existsSync(dir)) return -1
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter(
    (entry) => entry.isFile() && TEST_FILE.test(entry.name),
  ).length
}

interface Run {
  code: number
  output: string
  timedOut: boolean
}

let current: ReturnType<typeof spawn> | null = null

/** Kills the step's whole process group: bun test's grandchildren (the e2e server, chromium) included. */
function killGroup(signal: NodeJS.Signals) {
  if (current?.pid === undefined) return
  try {
    process.kill(-current.pid, signal)
  } catch {
    // already gone
  }
}

/** Runs a command in its own process group, streaming its output through and keeping a copy. */
function run(cmd: string[], env: Env, timeoutMs: number): Promise<Run> {
  return new Promise((done) => {
    let output = ''
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2_000_000)
    }
    const child = spawn(cmd[0]!, cmd.slice(1), {
      cwd: ROOT,
      env: Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as Record<string, string>,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    current = child
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk)
      keep(chunk)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      keep(chunk)
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      console.error(`\ntest-all: no result within ${Math.round(timeoutMs / 1000)} s; stopping it.`)
      killGroup('SIGTERM')
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref()
    }, timeoutMs)
    child.on('error', (error) => {
      output += `\n${error.message}`
      console.error(`test-all: could not run ${cmd.join(' ')}: ${error.message}`)
    })
    // Anything of the step still alive once it exited is a leak (an e2e server, a browser): it
    // would hold the output pipes open forever, so it is reported and killed.
    child.on('exit', () => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, 0)
      } catch {
        return
      }
      console.error('test-all: the step left processes running; killing them.')
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // gone meanwhile
      }
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      current = null
      done({ code: code ?? (signal ? 128 : 1), output, timedOut })
    })
  })
}

interface JUnitCounts {
  tests: number
  failures: number
  errors: number
  skipped: number
}

/** The root <testsuites> totals of bun's JUnit report, or the sum of its <testsuite>s. */
function readJUnit(file: string): JUnitCounts | null {
  if (!existsSync(file)) return null
  const xml = readFileSync(file, 'utf8')
  const attrs = (tag: string): JUnitCounts => {
    const num = (name: string) => Number(new RegExp(`\\s${name}="(\\d+)"`).exec(tag)?.[1] ?? 0)
    return { tests: num('tests'), failures: num('failures'), errors: num('errors'), skipped: num('skipped') }
  }
  const root = /<testsuites\b[^>]*>/.exec(xml)
  if (root) return attrs(root[0])
  const suites = [...xml.matchAll(/<testsuite\b[^>]*>/g)].map((match) => attrs(match[0]))
  if (suites.length === 0) return null
  return suites.reduce((sum, suite) => ({
    tests: sum.tests + suite.tests,
    failures: sum.failures + suite.failures,
    errors: sum.errors + suite.errors,
    skipped: sum.skipped + suite.skipped,
  }))
}

/** bun's own "N fail" also counts files that failed to load, which the JUnit report leaves out. */
const summaryFailures = (output: string) => Number(/^\s*(\d+) fail$/m.exec(output)?.[1] ?? 0)

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

async function runStep(step: Step, index: number, total: number, deadline: number): Promise<Result> {
  const started = Date.now()
  const result = (counts: Omit<Result, 'step' | 'ms'>): Result => ({ step, ms: Date.now() - started, ...counts })
  const remaining = deadline - Date.now()
  const header = (cmd: string) => console.log(`\n==> [${index}/${total}] ${step.name}: ${cmd}`)

  if (remaining <= 0) {
    header('(not run)')
    return result({ passed: 0, failed: 1, skipped: 0, ok: false, note: 'not run: the time budget was used up' })
  }
  const timeoutMs = Math.min(step.timeoutMs, remaining)

  if (step.kind === 'check') {
    header(step.cmd.join(' '))
    const { code, output, timedOut } = await run(step.cmd, step.env ?? process.env, timeoutMs)
    const judge = step.judge ?? ((c: number) => (c === 0 ? { ok: true } : { ok: false, note: `exit ${c}` }))
    const verdict: { ok: boolean; note?: string } = timedOut ? { ok: false, note: 'timed out' } : judge(code, output)
    return result({ passed: verdict.ok ? 1 : 0, failed: verdict.ok ? 0 : 1, skipped: 0, ok: verdict.ok, note: verdict.note ?? '' })
  }

  const dir = step.dir!
  const report = join(REPORT_DIR, `junit-${step.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}.xml`)
  const cmd = ['bun', 'test', `./${dir}`, '--reporter=junit', `--reporter-outfile=${report}`]
  header(cmd.join(' '))
  const files = countTestFiles(join(ROOT, dir))
  if (files <= 0) {
    const note = files < 0 ? `${dir}/ does not exist` : `${dir}/ has no *.test.ts files`
    console.error(`test-all: ${note}; every suite must hold at least one test.`)
    return result({ passed: 0, failed: 1, skipped: 0, ok: false, note })
  }

  rmSync(report, { force: true })
  const { code, output, timedOut } = await run(cmd, step.env ?? process.env, timeoutMs)
  const counts = readJUnit(report)
  if (!counts) {
    return result({ passed: 0, failed: 1, skipped: 0, ok: false, note: timedOut ? 'timed out, no JUnit report' : `exit ${code}, no JUnit report` })
  }
  const inReport = counts.failures + counts.errors
  const unloaded = Math.max(0, summaryFailures(output) - inReport)
  let failed = inReport + unloaded
  const passed = Math.max(0, counts.tests - inReport - counts.skipped)
  const notes: string[] = []
  if (unloaded > 0) notes.push(`${unloaded} file(s) failed to load`)
  if (timedOut) notes.push('timed out')
  if (counts.tests === 0) notes.push('no tests ran')
  // A non-zero exit with nothing failing in the report is a crash the report cannot show; count it.
  if ((code !== 0 || timedOut || counts.tests === 0) && failed === 0) {
    failed = 1
    if (!timedOut && counts.tests > 0) notes.push(`exit ${code} with no failing test reported`)
  }
  return result({ passed, failed, skipped: counts.skipped, ok: failed === 0 && code === 0, note: notes.join('; ') })
}

async function main() {
  const steps = parseArgs(process.argv.slice(2))
  mkdirSync(REPORT_DIR, { recursive: true })
  const deadline = Date.now() + BUDGET_MS
  const forward = (signal: NodeJS.Signals) => () => {
    killGroup(signal)
    process.exit(130)
  }
  process.on('SIGINT', forward('SIGINT'))
  process.on('SIGTERM', forward('SIGTERM'))

  const started = Date.now()
  const results: Result[] = []
  for (const [i, step] of steps.entries()) results.push(await runStep(step, i + 1, steps.length, deadline))

  const total = results.reduce(
    (sum, r) => ({ passed: sum.passed + r.passed, failed: sum.failed + r.failed, skipped: sum.skipped + r.skipped }),
    { passed: 0, failed: 0, skipped: 0 },
  )
  const width = Math.max(...results.map((r) => r.step.name.length))
  console.log(`\n==> summary (${seconds(Date.now() - started)}; JUnit reports in ${REPORT_DIR})`)
  for (const r of results) {
    const counts = r.step.kind === 'suite' ? `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}` : r.ok ? 'passed' : 'FAILED'
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.step.name.padEnd(width)}  ${counts}  (${seconds(r.ms)})${r.note ? `  ${r.note}` : ''}`)
  }
  const anyFailed = total.failed > 0 || results.some((r) => !r.ok)
  console.log(`tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`)
  process.exit(anyFailed ? 1 : 0)
}

await main()
