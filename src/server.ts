/**
 * Starts the server: reads and validates config (a bad value stops start-up
 * naming the variable), migrates in development, listens, and on SIGTERM/SIGINT
 * stops taking requests, flushes the audit queue and closes the database.
 */
import { createApp, createDeps, prepare, serveOptions } from './app'
import { loadConfigOrExit } from './config'
import { serveMetrics } from '../plugins/metrics'
import { retentionTask } from './modules/retention/schedule'

const config = loadConfigOrExit()

const deps = createDeps(config)
await prepare(deps, { migrate: config.db.migrateOnStart })
// Room for a session's uploads (UPLOAD_MAX_SESSION_BYTES) and its form fields; the app enforces the real limits with clear errors.
const maxRequestBodySize = Math.max(64 * 1024 * 1024, config.uploads.maxSessionBytes + 4 * 1024 * 1024)
// With BullMQ the workers run retention (workers/council.ts); in-process, this server does.
const retention = deps.queue.backend === 'inline' ? retentionTask(config, deps.retention) : null
if (retention) await deps.queue.schedule(retention)
const app = createApp(config, deps).listen({ port: config.port, hostname: config.host, maxRequestBodySize, ...serveOptions(config, deps.logger) })
// A separate metrics listener (METRICS_PORT), out of the reverse proxy's reach: there loopback and
// TRUSTED_PROXY_IPS may scrape without METRICS_TOKEN, which production's public port refuses.
const metricsServer = config.metrics.port
  ? serveMetrics({
      metrics: deps.metrics,
      port: config.metrics.port,
      hostname: config.host,
      token: config.metrics.token,
      production: config.env === 'production',
      trustedIps: config.auth.trustedProxyIps,
    })
  : null
deps.logger.info('server listening', {
  pid: process.pid,
  url: `http://${config.host}:${app.server?.port}`,
  env: config.env,
  db: deps.db.dialect,
  jobs: config.jobs.backend,
  metrics: metricsServer ? `http://${config.host}:${metricsServer.port}/metrics` : null,
})

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  deps.logger.info('shutting down', { signal })
  // Open event streams would hold the server open: end them first (their clients resume elsewhere).
  deps.streams.abort()
  await app.stop()
  await metricsServer?.stop()
  await deps.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
