/**
 * Prometheus metrics (SPEC §4 GET /metrics). Hooks every request globally —
 * count and latency by method, route template and status — and serves the
 * instance's registry at /metrics. The worker process serves the same output
 * on METRICS_PORT (serveMetrics), since its jobs and LLM calls are counted there.
 *
 * Who may scrape: with METRICS_TOKEN set, only `Authorization: Bearer <token>`
 * (401 otherwise). Without it, anyone in development and test. In production
 * without it, the app's own port answers 403 to everyone: behind a reverse proxy
 * on the same host every outside request arrives from loopback, so no address
 * proves a scraper there (issue 14, finding 9). A separate metrics listener
 * (METRICS_PORT, serveMetrics: the server's and the worker's) is not behind the
 * public entry point, so it still answers loopback and TRUSTED_PROXY_IPS.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { AppError, forbidden } from '../../src/errors'
import type { Authenticator } from '../../src/identity'
import { rbac } from '../rbac'
import type { AppMetrics } from './registry'

export { createMetrics, type AppMetrics } from './registry'
export { trackJob } from './jobs'

export interface ScrapePolicy {
  /** METRICS_TOKEN; null when unset. */
  token: string | null
  /** In production, a scrape without a token must come from loopback or `trustedIps`. */
  production: boolean
  /** TRUSTED_PROXY_IPS. */
  trustedIps: string[]
  /**
   * `public`: the app's own port, which a reverse proxy forwards outside requests to —
   * in production without a token nobody may scrape there. `separate`: a listener of its
   * own (METRICS_PORT), where loopback and `trustedIps` may.
   */
  listener?: 'public' | 'separate'
}

const digest = (value: string) => createHash('sha256').update(value).digest()

const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')

/**
 * The scrape check shared by the app's route and the worker's server: throws a
 * 401 (bad or missing token) or 403 (address not allowed) AppError, else returns.
 * @example
 * const check = scrapeAccess({ token: 's3cret', production: true, trustedIps: [], listener: 'public' })
 * check('Bearer s3cret', '10.0.0.5') // passes
 */
export function scrapeAccess({ token, production, trustedIps, listener = 'separate' }: ScrapePolicy) {
  if (token !== null && token.length === 0) throw new Error('metrics: token must be non-empty or null')
  const expected = token === null ? null : digest(token)
  const trusted = new Set(trustedIps)
  return (authorization: string | null, ip: string | null): void => {
    if (expected) {
      const presented = /^bearer\s+(.+)$/i.exec(authorization?.trim() ?? '')?.[1]
      // Compared as digests: equal lengths for timingSafeEqual, and no timing hint of the token's length.
      if (!presented || !timingSafeEqual(digest(presented), expected))
        throw new AppError(401, 'unauthenticated', 'Scraping /metrics needs the header "Authorization: Bearer <METRICS_TOKEN>".', {
          'www-authenticate': 'Bearer realm="metrics"',
        })
      return
    }
    if (production && listener === 'public')
      throw forbidden('In production, /metrics on the app’s port needs METRICS_TOKEN (behind a reverse proxy every request looks local); set METRICS_TOKEN, or METRICS_PORT to serve metrics on a separate listener.')
    if (production && !(ip && (isLoopback(ip) || trusted.has(ip))))
      throw forbidden('Without METRICS_TOKEN, /metrics answers only loopback and TRUSTED_PROXY_IPS in production; set METRICS_TOKEN to scrape from elsewhere.')
  }
}

/**
 * Prometheus is not a user: /metrics gets a guard of its own whose authenticator
 * applies the scrape policy and never resolves an identity. (The app's guard
 * would read the scraper's bearer token as a JWT and refuse it.)
 */
const scrapeAuthenticator = (check: ReturnType<typeof scrapeAccess>): Authenticator => {
  const clientIp: Authenticator['clientIp'] = ({ request, server }) => server?.requestIP(request)?.address ?? null
  return {
    clientIp,
    async authenticate(ctx) {
      check(ctx.request.headers.get('authorization'), clientIp(ctx))
      return null
    },
  }
}

export interface MetricsPluginOptions extends Partial<ScrapePolicy> {
  metrics: AppMetrics
  /**
   * When the request started (performance.now()), if another plugin already
   * records it — the logging plugin does — so no second onRequest hook runs.
   */
  requestStart?: (request: Request) => number | undefined
}

/**
 * @example
 * const appMetrics = createMetrics()
 * new Elysia().use(metrics({ metrics: appMetrics, token: process.env.METRICS_TOKEN ?? null })).get('/', () => 'ok')
 */
export const metrics = ({ metrics: instance, token = null, production = false, trustedIps = [], requestStart }: MetricsPluginOptions) => {
  const { http } = instance
  const started = new WeakMap<Request, number>()
  const startOf = requestStart ?? ((request: Request) => started.get(request))
  const guard = rbac({ authenticator: scrapeAuthenticator(scrapeAccess({ token, production, trustedIps, listener: 'public' })) })
  const plugin = new Elysia({ name: 'plugin/metrics', seed: { registry: instance.id } })
  // onRequest runs for every request of the app (it precedes routing), whichever instance registers it.
  if (!requestStart)
    plugin.onRequest(({ request }) => {
      started.set(request, performance.now())
    })
  return plugin
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const start = startOf(request)
      const status = typeof set.status === 'number' ? set.status : 200
      http.record(request.method, route, status, start === undefined ? 0 : (performance.now() - start) / 1000)
    })
    .use(guard)
    .get(
      '/metrics',
      async ({ set }) => {
        const text = await instance.render()
        set.headers['content-type'] = instance.contentType
        set.headers['cache-control'] = 'no-store'
        return text
      },
      { permission: 'public', detail: { hide: true } },
    )
}

export interface MetricsServerOptions extends Omit<ScrapePolicy, 'listener'> {
  metrics: AppMetrics
  port: number
  hostname: string
}

/**
 * /metrics for a process without an HTTP app (the worker), on its own port,
 * with the same scrape policy; anything else answers 404. Errors use the API's shape.
 * @example
 * const server = serveMetrics({ metrics: deps.metrics, port: 9464, hostname: '0.0.0.0', token, production, trustedIps })
 * await server.stop()
 */
export function serveMetrics({ metrics: instance, port, hostname, ...policy }: MetricsServerOptions) {
  const check = scrapeAccess({ ...policy, listener: 'separate' })
  const error = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
    const requestId = crypto.randomUUID()
    return Response.json({ error: { code, message, request_id: requestId } }, { status, headers: { ...headers, 'x-request-id': requestId } })
  }
  return Bun.serve({
    port,
    hostname,
    async fetch(request, server) {
      if (new URL(request.url).pathname !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD'))
        return error(404, 'route_not_found', 'This port serves GET /metrics only.')
      try {
        check(request.headers.get('authorization'), server.requestIP(request)?.address ?? null)
      } catch (thrown) {
        if (thrown instanceof AppError) return error(thrown.status, thrown.code, thrown.message, thrown.headers)
        throw thrown
      }
      return new Response(await instance.render(), { headers: { 'content-type': instance.contentType, 'cache-control': 'no-store' } })
    },
  })
}
