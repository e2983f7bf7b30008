/**
 * compose.yaml without a Docker engine: Compose's variable interpolation, validation
 * against the vendored Compose Specification schema (deploy/schema/), and the rules this
 * project's deployment relies on (replicas, the one-shot migrate, pinned images, no
 * secret written into the file). Used by `bun run lint:containers` and tests/ops.
 */
import Ajv, { type ValidateFunction } from 'ajv'
import draft7 from 'ajv/dist/refs/json-schema-draft-07.json'

export type ComposeDoc = {
  services: Record<string, ComposeService>
  secrets?: Record<string, unknown>
  volumes?: Record<string, unknown>
  [key: string]: unknown
}

export interface ComposeService {
  image?: string
  build?: string | { context?: string; dockerfile?: string }
  command?: string | string[]
  entrypoint?: string | string[]
  environment?: Record<string, string | number | boolean | null> | string[]
  depends_on?: string[] | Record<string, { condition?: string }>
  deploy?: { replicas?: number }
  profiles?: string[]
  restart?: string
  volumes?: Array<string | { type?: string; source?: string; target?: string }>
  healthcheck?: { test?: string | string[]; disable?: boolean }
  [key: string]: unknown
}

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g

/**
 * Compose's interpolation of one string: `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`.
 * Required variables that are missing are collected in `missing` (Compose would refuse to start).
 * @example
 * interpolate('redis://${REDIS_HOST:-redis}:6379', {}) // → { value: 'redis://redis:6379', missing: [] }
 */
export function interpolate(text: string, env: Record<string, string | undefined>): { value: string; missing: string[] } {
  const missing: string[] = []
  const value = text.replace(VARIABLE, (whole, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$'
    const variable = (name ?? bare)!
    const raw = env[variable]
    const unset = colon ? raw === undefined || raw === '' : raw === undefined
    if (op === '-') return unset ? (arg ?? '') : raw!
    if (op === '?') {
      if (unset) missing.push(`${variable}${arg ? ` (${arg})` : ''}`)
      return raw ?? ''
    }
    if (op === '+') return unset ? '' : (arg ?? '')
    return raw ?? ''
  })
  return { value, missing }
}

/** Interpolates every string in a parsed compose document (keys are left as written, as Compose does). */
export function interpolateDoc<T>(doc: T, env: Record<string, string | undefined>): { doc: T; missing: string[] } {
  const missing = new Set<string>()
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const result = interpolate(value, env)
      for (const name of result.missing) missing.add(name)
      return result.value
    }
    if (Array.isArray(value)) return value.map(walk)
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]))
    return value
  }
  return { doc: walk(doc) as T, missing: [...missing] }
}

/** Names of the variables the file requires (`${NAME:?…}` / `${NAME?…}`), for the env example and docs. */
export function requiredVariables(text: string): string[] {
  const names = new Set<string>()
  for (const match of text.matchAll(VARIABLE)) if (match[3] === '?') names.add(match[1]!)
  return [...names].sort()
}

const compiled = new WeakMap<object, ValidateFunction>()

/**
 * Validates a (interpolated) compose document against the Compose Specification schema.
 * @example
 * const errors = validateComposeSchema(doc, await Bun.file('deploy/schema/compose-spec.json').json())
 */
export function validateComposeSchema(doc: unknown, schema: object): string[] {
  // The spec's schema is draft-07 but names its meta-schema by https URL without the `#`
  // ajv registers; strict mode is off because the spec uses union types ajv flags as style.
  let validate = compiled.get(schema)
  if (!validate) {
    const ajv = new Ajv({ allErrors: true, strict: false })
    ajv.addMetaSchema({ ...draft7, $id: 'https://json-schema.org/draft-07/schema' })
    validate = ajv.compile(schema)
    compiled.set(schema, validate)
  }
  if (validate(doc)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`)
}

const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value])

/** The environment of a service as a map (list form `KEY=value` included). */
export function serviceEnvironment(service: ComposeService): Record<string, string> {
  const env = service.environment
  if (!env) return {}
  if (Array.isArray(env))
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.includes('=') ? entry.slice(entry.indexOf('=') + 1) : '']))
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]))
}

function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on
  if (!deps) return {}
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']))
  return Object.fromEntries(Object.entries(deps).map(([name, spec]) => [name, spec?.condition ?? 'service_started']))
}

const SECRET_NAME = /secret|password|passwd|token|api_?key|access_?key|private_?key|credential/i

/** An image reference pinned to a version: a digest, or a tag that is not `latest` and holds a digit. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : ''
  return tag !== '' && tag !== 'latest' && /\d/.test(tag)
}

/**
 * The project's own rules on the raw (not interpolated) document.
 * `pathExists` answers for bind-mounted host paths, relative to the compose file.
 * @example
 * checkComposeRules(Bun.YAML.parse(text) as ComposeDoc, (path) => existsSync(path))
 */
export function checkComposeRules(doc: ComposeDoc, pathExists: (path: string) => boolean): string[] {
  const problems: string[] = []
  const services = doc.services ?? {}
  const need = (name: string) => {
    if (!services[name]) problems.push(`service "${name}" is missing`)
    return services[name]
  }
  const migrate = need('migrate')
  const app = need('app')
  const worker = need('worker')
  need('postgres')
  need('redis')
  if (!Object.values(services).some((s) => /(^|\/)minio\/minio:|seaweedfs|garage|localstack/.test(s.image ?? '')))
    problems.push('no S3-compatible store service (e.g. minio/minio)')
  for (const name of ['prometheus', 'grafana'])
    if (need(name) && !services[name]!.profiles?.includes('monitoring')) problems.push(`service "${name}" must be in the "monitoring" profile`)

  for (const [name, service] of [['app', app], ['worker', worker]] as const) {
    if (!service) continue
    if (service.deploy?.replicas !== 2) problems.push(`service "${name}" must run 2 replicas (deploy.replicas)`)
    if (dependsOn(service).migrate !== 'service_completed_successfully')
      problems.push(`service "${name}" must depend on migrate with condition service_completed_successfully`)
    if (asList(service.command).length === 0) problems.push(`service "${name}" needs an explicit command`)
  }
  if (migrate && migrate.restart !== 'no') problems.push('service "migrate" is one-shot: restart must be "no"')
  const council = [migrate, app, worker].filter(Boolean) as ComposeService[]
  if (new Set(council.map((s) => s.image)).size > 1) problems.push('migrate, app and worker must run the same image')

  for (const [name, service] of Object.entries(services)) {
    if (service.image && !service.build && !isPinnedImage(service.image))
      problems.push(`service "${name}": image "${service.image}" is not pinned to a version (a tag with a version, or a digest; never latest)`)
    for (const [key, value] of Object.entries(serviceEnvironment(service)))
      if (SECRET_NAME.test(key) && value !== '' && !/^\$\{[^}]+\}$/.test(value))
        problems.push(`service "${name}": ${key} holds a value in the file; take it from the environment (\${${key}:?…})`)
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '')
      if ((source.startsWith('./') || source.startsWith('../')) && !pathExists(source))
        problems.push(`service "${name}": bind-mounted ${source} does not exist`)
    }
  }
  return problems
}
