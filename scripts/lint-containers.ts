/**
 * `bun run lint:containers`: the container checks CI runs without a Docker engine.
 *  - Dockerfile: dockerfile-utils' validator and the image rules (scripts/lib/dockerfile-lint.ts).
 *  - compose.yaml: interpolated as Compose would (every required variable set to a stand-in),
 *    validated against the Compose Specification schema (deploy/schema/compose-spec.json),
 *    and checked against the deployment's rules (scripts/lib/compose.ts).
 *  - deploy/: every required variable is in compose.env.example; Prometheus scrapes the app
 *    and worker ports compose.yaml gives them; the Grafana dashboards are JSON.
 *
 *   bun run lint:containers [--root <dir>]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { checkComposeRules, interpolateDoc, requiredVariables, serviceEnvironment, validateComposeSchema, type ComposeDoc } from './lib/compose'
import { lintDockerfile } from './lib/dockerfile-lint'

const { values } = parseArgs({ options: { root: { type: 'string' } } })
const root = resolve(values.root ?? resolve(import.meta.dir, '..'))
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const problems: string[] = []

for (const p of lintDockerfile(read('Dockerfile'))) problems.push(`Dockerfile:${p.line}: [${p.rule}] ${p.message}`)

const composeText = read('compose.yaml')
const raw = Bun.YAML.parse(composeText) as ComposeDoc
for (const p of checkComposeRules(raw, (path) => existsSync(join(root, path)))) problems.push(`compose.yaml: ${p}`)

const required = requiredVariables(composeText)
const standIns = Object.fromEntries(required.map((name) => [name, `stand-in-${name.toLowerCase()}`]))
const { doc, missing } = interpolateDoc(raw, standIns)
for (const name of missing) problems.push(`compose.yaml: variable ${name} is required but has no stand-in`)
for (const error of validateComposeSchema(doc, JSON.parse(read('deploy/schema/compose-spec.json'))))
  problems.push(`compose.yaml: schema: ${error}`)

const example = read('deploy/compose.env.example')
for (const name of required)
  if (!new RegExp(`^${name}=`, 'm').test(example)) problems.push(`deploy/compose.env.example: required variable ${name} is not listed`)

const prometheus = Bun.YAML.parse(read('deploy/prometheus/prometheus.yml')) as {
  scrape_configs?: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>
}
const scraped = (service: string) =>
  (prometheus.scrape_configs ?? []).flatMap((job) => job.dns_sd_configs ?? []).find((sd) => sd.names.includes(service))?.port
const appPort = Number(serviceEnvironment(doc.services.app ?? {}).PORT ?? 3000)
const workerPort = Number(serviceEnvironment(doc.services.worker ?? {}).METRICS_PORT)
if (scraped('app') !== appPort) problems.push(`deploy/prometheus/prometheus.yml: app must be scraped on its PORT ${appPort}`)
if (!workerPort || scraped('worker') !== workerPort)
  problems.push(`deploy/prometheus/prometheus.yml: workers must be scraped on their METRICS_PORT ${workerPort || '(unset)'}`)

const dashboards = join(root, 'deploy/grafana/dashboards')
const dashboardFiles = existsSync(dashboards) ? readdirSync(dashboards).filter((f) => f.endsWith('.json')) : []
if (dashboardFiles.length === 0) problems.push('deploy/grafana/dashboards: no dashboard JSON')
for (const file of dashboardFiles) {
  try {
    const dashboard = JSON.parse(readFileSync(join(dashboards, file), 'utf8')) as { uid?: string; panels?: unknown[] }
    if (!dashboard.uid || !Array.isArray(dashboard.panels)) problems.push(`deploy/grafana/dashboards/${file}: needs a uid and panels`)
  } catch (error) {
    problems.push(`deploy/grafana/dashboards/${file}: ${(error as Error).message}`)
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`lint:containers: ${problem}`)
  console.error(`lint:containers: ${problems.length} problem(s).`)
  process.exit(1)
}
console.log(
  `lint:containers: Dockerfile passes; compose.yaml (${Object.keys(doc.services).length} services) matches the Compose Specification schema and the deployment rules; deploy/ files agree.`,
)
