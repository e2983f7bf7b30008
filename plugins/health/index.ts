/**
 * Liveness and readiness. /healthz answers while the process runs; /readyz
 * runs every component check in parallel under READYZ_TIMEOUT_MS and says
 * which one is down: a failing required component is "fail" (503); a failing
 * optional one, or any component past its `degraded` threshold (a slow answer
 * over READYZ_SLOW_MS, an old worker heartbeat, an old backlog), "degraded" (200).
 */
import { Elysia } from 'elysia'
import type { rbac } from '../rbac'

export interface ComponentCheck {
  /** Resolves when healthy, optionally with details; throws (with a helpful message) when not. */
  check: () => Promise<Record<string, unknown> | void>
  required: boolean
}

/**
 * Thrown by a check whose component answers but is not well (`degraded`), or is
 * down while still able to say how (`fail` with details such as a heartbeat age).
 */
export class ComponentState extends Error {
  constructor(
    readonly status: 'degraded' | 'fail',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

type ComponentHealth = 'ok' | 'degraded' | 'fail'

export interface ComponentStatus {
  status: ComponentHealth
  latency_ms: number
  error?: string
  [detail: string]: unknown
}

export interface HealthOptions {
  checks: Record<string, ComponentCheck>
  timeoutMs: number
  /** An answer slower than this makes its component `degraded` (READYZ_SLOW_MS); none when unset. */
  slowMs?: number
  guard: ReturnType<typeof rbac>
}

async function runCheck(component: ComponentCheck, timeoutMs: number, slowMs?: number): Promise<ComponentStatus> {
  const started = performance.now()
  let timer: Timer | undefined
  try {
    const details = await Promise.race([
      component.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    const latency = Math.round(performance.now() - started)
    if (slowMs !== undefined && latency > slowMs)
      return { status: 'degraded', latency_ms: latency, error: `answered in ${latency} ms, slower than ${slowMs} ms`, ...(details ?? {}) }
    return { status: 'ok', latency_ms: latency, ...(details ?? {}) }
  } catch (error) {
    const latency = Math.round(performance.now() - started)
    if (error instanceof ComponentState) return { status: error.status, latency_ms: latency, error: error.message, ...error.details }
    return { status: 'fail', latency_ms: latency, error: (error as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

export interface ReadinessReport {
  status: ComponentHealth
  components: Record<string, ComponentStatus>
}

export async function readiness(checks: Record<string, ComponentCheck>, timeoutMs: number, slowMs?: number): Promise<ReadinessReport> {
  const names = Object.keys(checks)
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, timeoutMs, slowMs)))
  const components = Object.fromEntries(names.map((name, i) => [name, results[i]!]))
  const failed = names.filter((name) => components[name]!.status === 'fail')
  const unwell = names.some((name) => components[name]!.status !== 'ok')
  const status: ComponentHealth = failed.some((name) => checks[name]!.required) ? 'fail' : unwell ? 'degraded' : 'ok'
  return { status, components }
}

/**
 * @example
 * app.use(health({ checks: { db: { check: () => db.ping(), required: true } }, timeoutMs: 2000, guard }))
 */
export const health = ({ checks, timeoutMs, slowMs, guard }: HealthOptions) =>
  new Elysia({ name: 'plugin/health' })
    .use(guard)
    .get('/healthz', () => ({ status: 'ok' }), { permission: 'public', detail: { tags: ['operations'], summary: 'Liveness' } })
    .get(
      '/readyz',
      async ({ set }) => {
        const report = await readiness(checks, timeoutMs, slowMs)
        if (report.status === 'fail') set.status = 503
        return report
      },
      { permission: 'public', detail: { tags: ['operations'], summary: 'Readiness, per component' } },
    )
