/**
 * The container checks of `bun run lint:containers` (scripts/lib/dockerfile-lint.ts,
 * scripts/lib/compose.ts): the committed files pass, and each rule fires on a planted fault.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  checkComposeRules,
  interpolate,
  interpolateDoc,
  isPinnedImage,
  requiredVariables,
  validateComposeSchema,
  type ComposeDoc,
} from '../../scripts/lib/compose'
import { lintDockerfile } from '../../scripts/lib/dockerfile-lint'

const ROOT = join(import.meta.dir, '../..')
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const COMPOSE = readFileSync(join(ROOT, 'compose.yaml'), 'utf8')
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'deploy/schema/compose-spec.json'), 'utf8')) as object

const rulesOf = (text: string) => [...new Set(lintDockerfile(text).map((p) => p.rule))]
const replaced = (from: string | RegExp, to: string) => {
  const text = DOCKERFILE.replace(from, to)
  expect(text).not.toBe(DOCKERFILE)
  return text
}

describe('Dockerfile lint', () => {
  test('the committed Dockerfile passes', () => {
    expect(lintDockerfile(DOCKERFILE)).toEqual([])
  })

  test.each([
    ['a latest base', () => replaced('FROM oven/bun:1.4.5 AS deps', 'FROM oven/bun:latest AS deps'), 'pinned-base'],
    ['an untagged base', () => replaced('FROM oven/bun:1.4.5-slim AS runtime', 'FROM oven/bun AS runtime'), 'pinned-base'],
    ['a base that is not the official Bun image', () => replaced('FROM oven/bun:1.4.5-slim AS runtime', 'FROM node:20.11-slim AS runtime'), 'official-bun'],
    ['two Bun versions', () => replaced('FROM oven/bun:1.4.5-slim', 'FROM oven/bun:1.3.0-slim'), 'official-bun'],
    ['no USER', () => replaced(/^USER bun\n/m, ''), 'non-root'],
    ['USER root', () => replaced(/^USER bun$/m, 'USER root'), 'non-root'],
    ['USER 0:0', () => replaced(/^USER bun$/m, 'USER 0:0'), 'non-root'],
    ['no HEALTHCHECK', () => replaced(/^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, ''), 'healthcheck'],
    ['a HEALTHCHECK on another path', () => replaced('CMD ["bun", "run", "scripts/healthcheck.ts"]', 'CMD ["bun", "run", "scripts/healthcheck.ts", "http://127.0.0.1:3000/"]'), 'healthcheck'],
    ['bun install without --frozen-lockfile', () => replaced('bun install --frozen-lockfile', 'bun install'), 'frozen-lockfile'],
    ['npm install', () => replaced('RUN bun install', 'RUN npm install && bun install'), 'frozen-lockfile'],
    ['dev dependencies in the final image', () => replaced(' --production', ''), 'production-deps'],
    ['a secret in ENV', () => replaced('MIGRATE_ON_START=false', 'MIGRATE_ON_START=false \\\n    JWT_SECRET=abc'), 'no-secrets'],
    ['a secret build ARG', () => replaced(/^COPY package\.json bun\.lock \.\/$/m, 'ARG NPM_TOKEN\nCOPY package.json bun.lock ./'), 'no-secrets'],
    ['ADD instead of COPY', () => replaced('COPY db ./db', 'ADD db ./db'), 'copy-not-add'],
    ['a shell-form CMD', () => replaced('CMD ["bun", "run", "src/server.ts"]', 'CMD bun run src/server.ts'), 'cmd'],
    ['DATA_DIR not a volume', () => replaced('VOLUME ["/data"]\n', ''), 'data-volume'],
    ['a single stage', () => replaced(/^FROM oven\/bun:1\.4\.5 AS deps[\s\S]*?(?=^# Stage 2)/m, ''), 'multi-stage'],
    ['an unknown instruction', () => replaced('EXPOSE 3000', 'EXPOZE 3000'), 'dockerfile-utils'],
  ])('refuses %s', (_, make, rule) => {
    expect(rulesOf(make())).toContain(rule)
  })
})

describe('compose interpolation', () => {
  test.each([
    ['${A}', { A: 'x' }, 'x'],
    ['$A/b', { A: 'x' }, 'x/b'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['${A:+alt}', { A: 'x' }, 'alt'],
    ['${A:+alt}', {}, ''],
    ['$$HOME', {}, '$HOME'],
    ['${A:?needed}', { A: 'v' }, 'v'],
  ])('%s with %o is %p', (text, env, expected) => {
    expect(interpolate(text, env as Record<string, string>).value).toBe(expected)
  })

  test('a missing required variable is reported with its message', () => {
    expect(interpolate('${PW:?set PW in .env}', {}).missing).toEqual(['PW (set PW in .env)'])
  })

  test('the required variables of compose.yaml', () => {
    expect(requiredVariables(COMPOSE)).toEqual(['GRAFANA_ADMIN_PASSWORD', 'JWT_SECRET', 'METRICS_TOKEN', 'POSTGRES_PASSWORD', 'S3_SECRET_ACCESS_KEY', 'SESSION_SECRET'])
  })
})

describe('compose.yaml', () => {
  const raw = () => Bun.YAML.parse(COMPOSE) as ComposeDoc
  const interpolated = (doc: ComposeDoc) => interpolateDoc(doc, Object.fromEntries(requiredVariables(COMPOSE).map((n) => [n, 'x'.repeat(40)]))).doc
  const exists = (path: string) => existsSync(join(ROOT, path))

  test('validates against the Compose Specification schema and the deployment rules', () => {
    expect(validateComposeSchema(interpolated(raw()), SCHEMA)).toEqual([])
    expect(checkComposeRules(raw(), exists)).toEqual([])
  })

  test.each([
    ['an unknown service key', (d: ComposeDoc) => void (d.services.app!.replica = 2), "must NOT have additional properties"],
    ['an unknown depends_on condition', (d: ComposeDoc) => void ((d.services.app!.depends_on as Record<string, { condition: string }>).migrate!.condition = 'service_done'), 'must be equal to one of the allowed values'],
    ['a profile that is not a list', (d: ComposeDoc) => void (d.services.grafana!.profiles = 'monitoring' as unknown as string[]), 'must be array'],
    ['a service name with a space', (d: ComposeDoc) => void (d.services['my app'] = { image: 'x:1' }), 'must NOT have additional properties'],
  ])('the schema refuses %s', (_, plant, message) => {
    const doc = raw()
    plant(doc)
    expect(validateComposeSchema(interpolated(doc), SCHEMA).join('\n')).toContain(message)
  })

  test.each([
    ['one app replica', (d: ComposeDoc) => void (d.services.app!.deploy = { replicas: 1 }), 'service "app" must run 2 replicas'],
    ['a worker that starts before migrations finished', (d: ComposeDoc) => void (d.services.worker!.depends_on = { migrate: { condition: 'service_started' } }), 'service "worker" must depend on migrate'],
    ['no migrate service', (d: ComposeDoc) => void delete d.services.migrate, 'service "migrate" is missing'],
    ['grafana outside the monitoring profile', (d: ComposeDoc) => void delete d.services.grafana!.profiles, 'must be in the "monitoring" profile'],
    ['no S3 store', (d: ComposeDoc) => void delete d.services.minio, 'no S3-compatible store'],
    ['an unpinned image', (d: ComposeDoc) => void (d.services.redis!.image = 'redis:latest'), 'image "redis:latest" is not pinned'],
    ['a password written into the file', (d: ComposeDoc) => void ((d.services.postgres!.environment as Record<string, string>).POSTGRES_PASSWORD = 'hunter2hunter2'), 'POSTGRES_PASSWORD holds a value'],
    ['a config file that does not exist', (d: ComposeDoc) => void d.services.prometheus!.volumes!.push('./deploy/missing.yml:/etc/x.yml:ro'), 'bind-mounted ./deploy/missing.yml does not exist'],
    ['a restarting migrate', (d: ComposeDoc) => void (d.services.migrate!.restart = 'on-failure'), 'restart must be "no"'],
  ])('the rules refuse %s', (_, plant, message) => {
    const doc = raw()
    plant(doc)
    expect(checkComposeRules(doc, exists).join('\n')).toContain(message)
  })

  test.each([
    ['postgres:17.6', true],
    ['minio/minio:RELEASE.2025-04-22T22-12-26Z', true],
    [`redis@sha256:${'a'.repeat(64)}`, true],
    ['redis', false],
    ['redis:latest', false],
    ['registry:5000/redis', false],
    ['redis:alpine', false],
  ])('isPinnedImage(%s) is %p', (image, pinned) => {
    expect(isPinnedImage(image)).toBe(pinned)
  })
})
