/**
 * Liveness and readiness. /healthz answers while the process runs; /readyz
 * runs every component check in parallel under READYZ_TIMEOUT_MS and says
 * which one is down: a failing required component is "fail" (503), a failing
 * optional one "degraded" (200).
 */
import { Elysia } from 'elysia'
import type { rbac } from '../rbac'

export interface ComponentCheck {
  /** Resolves when healthy, optionally with details; throws (with a helpful message) when not. */
  check: () => Promise<Record<string, unknown> | void>
  required: boolean
}

export interface ComponentStatus {
  status: 'ok' | 'fail'
  latency_ms: number
  error?: string
  [detail: string]: unknown
}

export interface HealthOptions {
  checks: Record<string, ComponentCheck>
  timeoutMs: number
  guard: ReturnType<typeof rbac>
}

async function runCheck(component: ComponentCheck, timeoutMs: number): Promise<ComponentStatus> {
  const started = performance.now()
  let timer: Timer | undefined
  try {
    const details = await Promise.race([
      component.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    return { status: 'ok', latency_ms: Math.round(performance.now() - started), ...(details ?? {}) }
  } catch (error) {
    return { status: 'fail', latency_ms: Math.round(performance.now() - started), error: (error as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

export async function readiness(checks: Record<string, ComponentCheck>, timeoutMs: number) {
  const names = Object.keys(checks)
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, timeoutMs)))
  const components = Object.fromEntries(names.map((name, i) => [name, results[i]!]))
  const failed = names.filter((name) => components[name]!.status === 'fail')
  const status = failed.some((name) => checks[name]!.required) ? 'fail' : failed.length > 0 ? 'degraded' : 'ok'
  return { status: status as 'ok' | 'degraded' | 'fail', components }
}

/**
 * @example
 * app.use(health({ checks: { db: { check: () => db.ping(), required: true } }, timeoutMs: 2000, guard }))
 */
export const health = ({ checks, timeoutMs, guard }: HealthOptions) =>
  new Elysia({ name: 'plugin/health' })
    .use(guard)
    .get('/healthz', () => ({ status: 'ok' }), { permission: 'public', detail: { tags: ['operations'], summary: 'Liveness' } })
    .get(
      '/readyz',
      async ({ set }) => {
        const report = await readiness(checks, timeoutMs)
        if (report.status === 'fail') set.status = 503
        return report
      },
      { permission: 'public', detail: { tags: ['operations'], summary: 'Readiness, per component' } },
    )
