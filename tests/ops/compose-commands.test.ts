/**
 * Runs compose.yaml's services as local processes, since no Docker engine is here:
 *  1. replays the Dockerfile into a scratch directory (each stage's COPY from the build
 *     context, its `bun …` RUN steps, COPY --from between stages), so the processes see the
 *     image's files only: the sources it copies and production dependencies alone;
 *  2. runs the EXACT `command` of migrate, then of every app and worker replica
 *     (deploy.replicas), in that order (app and worker depend on migrate completing);
 *  3. checks each app's /readyz is ok with every worker seen, and runs the image's
 *     HEALTHCHECK and the worker's compose healthcheck.
 * Each process gets the image ENV, then the service's `environment` interpolated with test
 * secrets, then these adaptations to this machine, and nothing else of the test's env:
 *  - DATABASE_URL → the local PostgreSQL, in a private schema; REDIS_URL → local Redis;
 *  - JOBS_QUEUE and QUOTA_PREFIX → unique names; HOST → 127.0.0.1; PORT/METRICS_PORT → free
 *    ports (the worker healthcheck's port likewise); DATA_DIR → a directory per process;
 *  - STORAGE_BACKEND → local (there is no S3 store on this machine; S3_* dropped).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import IORedis from 'ioredis'
import pg from 'pg'
import type { Subprocess } from 'bun'
import { interpolateDoc, requiredVariables, serviceEnvironment, type ComposeDoc, type ComposeService } from '../../scripts/lib/compose'
import { describeStages } from '../../scripts/lib/dockerfile-lint'
import { PG_URL } from '../helpers/databases'

const ROOT = join(import.meta.dir, '../..')
const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'
const id = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
const schema = `compose_${id}`
const scratch = mkdtempSync(join(tmpdir(), 'compose-commands-'))
const running: Array<{ name: string; proc: Subprocess; output: () => string }> = []

const composeText = readFileSync(join(ROOT, 'compose.yaml'), 'utf8')
const secrets = Object.fromEntries(requiredVariables(composeText).map((name) => [name, `${name.toLowerCase()}-${crypto.randomUUID()}`]))
const compose = interpolateDoc(Bun.YAML.parse(composeText) as ComposeDoc, secrets).doc
const stages = describeStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const runtime = stages.at(-1)!
const imageDir = join(scratch, 'stage-runtime')

/** Replays COPY and `bun …` RUN steps of every stage; the runtime stage's directory is the image. */
function replayBuild() {
  const dirOf = (name: string | null, index: number) => join(scratch, `stage-${name ?? index}`)
  stages.forEach((stage, index) => {
    const dir = dirOf(stage.name, index)
    mkdirSync(dir, { recursive: true })
    const workdir = stage.workdir ?? '/'
    for (const copy of stage.copies) {
      const target = join(dir, copy.target.startsWith('/') ? copy.target.slice(workdir.length) : copy.target)
      for (const source of copy.sources) {
        const into = copy.target.endsWith('/') || copy.sources.length > 1 ? join(target, source.split('/').at(-1)!) : target
        mkdirSync(join(into, '..'), { recursive: true })
        if (copy.from) {
          const from = stages.find((s) => s.name === copy.from)!
          renameSync(join(dirOf(from.name, stages.indexOf(from)), source.slice((from.workdir ?? '/').length)), into)
        } else cpSync(join(ROOT, source), into, { recursive: true })
      }
    }
    for (const run of stage.runs.filter((command) => command.startsWith('bun '))) {
      const result = Bun.spawnSync(['sh', '-c', run], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdout: 'pipe', stderr: 'pipe' })
      if (result.exitCode !== 0) throw new Error(`RUN ${run} failed:\n${result.stderr.toString()}`)
    }
  })
}

function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = server
  server.stop(true)
  return port
}

/** The service's environment as the container sees it, adapted to this machine (see the header). */
function envFor(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  const service = compose.services[name]!
  const env: Record<string, string> = { ...runtime.env, ...serviceEnvironment(service) }
  const url = new URL(PG_URL)
  url.searchParams.set('options', `-c search_path=${schema}`)
  const dataDir = join(scratch, 'data', `${name}-${running.length}-${crypto.randomUUID().slice(0, 8)}`)
  mkdirSync(dataDir, { recursive: true })
  for (const key of Object.keys(env)) if (key.startsWith('S3_')) delete env[key]
  return {
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    ...env,
    DATABASE_URL: url.toString(),
    REDIS_URL,
    JOBS_QUEUE: `compose-${id}`,
    QUOTA_PREFIX: `compose-${id}`,
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    STORAGE_BACKEND: 'local',
    ...overrides,
  }
}

const command = (service: ComposeService) => (Array.isArray(service.command) ? service.command : ['sh', '-c', service.command!])

function start(name: string, env: Record<string, string>) {
  const proc = Bun.spawn(command(compose.services[name]!), { cwd: imageDir, env, stdout: 'pipe', stderr: 'pipe' })
  let text = ''
  for (const stream of [proc.stdout, proc.stderr] as ReadableStream<Uint8Array>[])
    void (async () => {
      const decoder = new TextDecoder()
      const reader = stream.getReader()
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value)
    })()
  const entry = { name, proc, output: () => text }
  running.push(entry)
  return entry
}

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  try {
    await admin.query(`create schema ${schema}`)
  } finally {
    await admin.end()
  }
  replayBuild()
}, 120_000)

afterAll(async () => {
  for (const { proc } of running) if (proc.exitCode === null) proc.kill('SIGTERM')
  const stragglers = setTimeout(() => running.forEach(({ proc }) => proc.exitCode === null && proc.kill('SIGKILL')), 30_000)
  await Promise.all(running.map(({ proc }) => proc.exited))
  clearTimeout(stragglers)
  const admin = new pg.Client({ connectionString: PG_URL })
  await admin.connect()
  await admin.query(`drop schema if exists ${schema} cascade`)
  await admin.end()
  const redis = new IORedis(REDIS_URL)
  const keys = await redis.keys(`*compose-${id}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
  rmSync(scratch, { recursive: true, force: true })
}, 60_000)

test('the image holds the copied sources and production dependencies only', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }
  const has = (path: string) => Bun.file(join(imageDir, path)).size > 0
  for (const name of Object.keys(manifest.dependencies)) expect({ name, installed: has(`node_modules/${name}/package.json`) }).toEqual({ name, installed: true })
  for (const name of ['drizzle-kit', '@kitajs/ts-html-plugin', 'playwright-core', '@cyclonedx/cyclonedx-npm', 'dockerfile-utils'])
    expect({ name, installed: has(`node_modules/${name}/package.json`) }).toEqual({ name, installed: false })
  expect(has('tests/helpers/app.ts')).toBe(false)
  expect(has('src/server.ts') && has('workers/council.ts') && has('scripts/migrate.ts')).toBe(true)
})

test('migrate, then 2 apps and 2 workers started with compose.yaml commands: every /readyz is ok and sees both workers', async () => {
  expect(compose.services.app!.depends_on).toMatchObject({ migrate: { condition: 'service_completed_successfully' } })
  const migrate = start('migrate', envFor('migrate'))
  expect(await migrate.proc.exited).toBe(0)
  expect(migrate.output()).toContain('database is up to date')

  const apps = Array.from({ length: compose.services.app!.deploy!.replicas! }, () => {
    const port = freePort()
    start('app', envFor('app', { PORT: String(port) }))
    return { port }
  })
  const workerPorts = Array.from({ length: compose.services.worker!.deploy!.replicas! }, () => {
    const port = freePort()
    start('worker', envFor('worker', { METRICS_PORT: String(port) }))
    return port
  })
  expect(apps.length).toBe(2)
  expect(workerPorts.length).toBe(2)

  const deadline = Date.now() + 60_000
  for (const { port } of apps) {
    let last: unknown = null
    for (;;) {
      const exited = running.find(({ proc }) => proc.exitCode !== null && proc !== migrate.proc)
      if (exited) throw new Error(`${exited.name} exited with ${exited.proc.exitCode}:\n${exited.output()}`)
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`)
        last = await response.json()
        const report = last as { status: string; components: { worker?: { workers?: number } } }
        if (response.status === 200 && report.status === 'ok' && (report.components.worker?.workers ?? 0) >= workerPorts.length) break
      } catch (error) {
        last = (error as Error).message
      }
      if (Date.now() > deadline) throw new Error(`app on ${port} not ready with ${workerPorts.length} workers: ${JSON.stringify(last)}`)
      await Bun.sleep(250)
    }
  }

  // The image's HEALTHCHECK, run as Docker would inside each app container.
  for (const { port } of apps) {
    const probe = Bun.spawnSync(runtime.healthcheck, { cwd: imageDir, env: envFor('app', { PORT: String(port) }), stdout: 'pipe', stderr: 'pipe' })
    expect({ port, exit: probe.exitCode, err: probe.stderr.toString() }).toEqual({ port, exit: 0, err: '' })
  }
  // The worker's compose healthcheck, its fixed metrics port mapped to the one this worker got.
  const workerProbe = compose.services.worker!.healthcheck!.test as string[]
  expect(workerProbe[0]).toBe('CMD')
  const composePort = serviceEnvironment(compose.services.worker!).METRICS_PORT!
  for (const port of workerPorts) {
    const argv = workerProbe.slice(1).map((arg) => arg.replace(`:${composePort}/`, `:${port}/`))
    const probe = Bun.spawnSync(argv, { cwd: imageDir, env: envFor('worker', { METRICS_PORT: String(port) }), stdout: 'pipe', stderr: 'pipe' })
    expect({ port, exit: probe.exitCode, err: probe.stderr.toString() }).toEqual({ port, exit: 0, err: '' })
  }
}, 120_000)
