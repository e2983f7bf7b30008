/**
 * Metrics for operators, with the real tools (Debian's `prometheus` package):
 * a real server and a real BullMQ worker (METRICS_PORT) are started as
 * processes; `promtool check metrics` passes on both /metrics outputs (lint
 * included); then the real Prometheus is started with the shipped scrape
 * config (deploy/prometheus/prometheus.yml, the one docs/DEPLOY.md shows) —
 * only its service discovery pointed at the two local ports and its token file
 * at a temporary one — scrapes both, and a series of each is read back through
 * its HTTP API.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Subprocess } from 'bun'
import { startServer, type RunningServer } from '../helpers/server'
import { startWorker, type WorkerProcess } from '../helpers/worker'

const ROOT = resolve(import.meta.dir, '../..')
const PROMTOOL = '/usr/bin/promtool'
const PROMETHEUS = '/usr/bin/prometheus'
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const TOKEN = 'prometheus-test-token-0123456789'
const haveTools = existsSync(PROMTOOL) && existsSync(PROMETHEUS)

const freePort = async () => {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port!
  await probe.stop(true)
  return port
}

let server: RunningServer
let worker: WorkerProcess
let workerPort = 0
let prometheus: Subprocess | undefined
const dir = mkdtempSync(join(tmpdir(), 'council-prometheus-'))

const scrape = async (url: string) => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  return res.text()
}

beforeAll(async () => {
  if (!haveTools) return
  const queue = `test-prom-${crypto.randomUUID().slice(0, 8)}`
  const shared = { JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue, EVENTS_PREFIX: queue, METRICS_TOKEN: TOKEN }
  server = await startServer({ env: shared })
  workerPort = await freePort()
  worker = startWorker({ ...shared, DATABASE_URL: `file:${server.dataDir}/council.db`, METRICS_PORT: String(workerPort) })
  await worker.ready
  // Some traffic, so request counters have series.
  await fetch(`${server.url}/healthz`)
}, 60_000)

afterAll(async () => {
  prometheus?.kill('SIGTERM')
  await prometheus?.exited
  await worker?.stop('SIGKILL')
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!haveTools)('Prometheus (Debian package)', () => {
  test('promtool check metrics passes on the server’s and the worker’s /metrics', async () => {
    for (const [who, url] of [
      ['server', `${server.url}/metrics`],
      ['worker', `http://127.0.0.1:${workerPort}/metrics`],
    ] as const) {
      const text = await scrape(url)
      expect(text).toContain('process_cpu_seconds_total')
      const check = Bun.spawnSync([PROMTOOL, 'check', 'metrics'], { stdin: new TextEncoder().encode(text), stdout: 'pipe', stderr: 'pipe' })
      const said = `${check.stdout.toString()}${check.stderr.toString()}`
      expect({ who, exit: check.exitCode, said }).toEqual({ who, exit: 0, said: '' })
    }
  })

  test('the shipped scrape config, pointed at a running server and worker, scrapes both; a series of each reads back', async () => {
    const shipped = Bun.YAML.parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      global: Record<string, string>
      scrape_configs: Array<Record<string, any>>
    }
    const targets: Record<string, string> = {
      'agent-council-app': `127.0.0.1:${server.port}`,
      'agent-council-worker': `127.0.0.1:${workerPort}`,
    }
    expect(shipped.scrape_configs.map((job) => job.job_name).sort()).toEqual(Object.keys(targets).sort())
    writeFileSync(join(dir, 'token'), TOKEN)
    const config = {
      ...shipped,
      global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: shipped.scrape_configs.map(({ dns_sd_configs: _, ...job }) => ({
        ...job,
        authorization: { ...job.authorization, credentials_file: join(dir, 'token') },
        static_configs: [{ targets: [targets[job.job_name]] }],
      })),
    }
    // JSON is YAML: Prometheus reads it as its config.
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2))
    const check = Bun.spawnSync([PROMTOOL, 'check', 'config', join(dir, 'prometheus.yml')], { stdout: 'pipe', stderr: 'pipe' })
    expect({ exit: check.exitCode, said: check.stderr.toString() }).toEqual({ exit: 0, said: '' })

    const port = await freePort()
    prometheus = Bun.spawn(
      [PROMETHEUS, `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => null)
      if (!res?.ok) return []
      const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }
      return body.data.result
    }
    const deadline = Date.now() + 30_000
    let up: Awaited<ReturnType<typeof query>> = []
    while (Date.now() < deadline) {
      up = await query('up')
      if (up.length === 2 && up.every((series) => series.value[1] === '1')) break
      await Bun.sleep(250)
    }
    expect(up.map((series) => [series.metric.job, series.value[1]]).sort()).toEqual([
      ['agent-council-app', '1'],
      ['agent-council-worker', '1'],
    ])
    // The app's own metrics (its view of the queue and workers) and the worker's process metrics.
    const workers = await query('job_workers{job="agent-council-app"}')
    expect(Number(workers[0]?.value[1])).toBeGreaterThanOrEqual(1)
    const cpu = await query('process_cpu_seconds_total{job="agent-council-worker"}')
    expect(cpu).toHaveLength(1)
    expect(Number(cpu[0]!.value[1])).toBeGreaterThan(0)
  }, 60_000)
})
