/**
 * The worker process: `bun run worker` (JOBS_BACKEND=bullmq). It takes job ids
 * from BullMQ and runs them with the same executor the in-process runner uses.
 * On SIGTERM it stops taking jobs, lets running ones finish for
 * JOBS_SHUTDOWN_GRACE_MS, then releases the rest to other workers (they resume
 * from their last stored stage), closes the queue, then the database.
 * With METRICS_PORT set it serves its own /metrics there (jobs and LLM calls
 * are counted in the process that runs them), under the server's scrape rules.
 */
// First: relaunches with Bun's fetch cap lifted above LLM_MAX_IN_FLIGHT before the other modules load.
import '../src/llm/fetch-cap'
import { createDeps } from '../src/app'
import { loadConfigOrExit } from '../src/config'
import { createErrorTracker } from '../plugins/errors/tracker'
import { startBullWorker } from '../plugins/jobs/bullmq'
import packageJson from '../package.json'
import { serveMetrics } from '../plugins/metrics'
import { fetchCapWarning } from '../src/llm/in-flight'
import { RETENTION_TASK, retentionTask } from '../src/modules/retention/schedule'

const config = loadConfigOrExit()
if (config.jobs.backend !== 'bullmq') {
  console.error(
    'Configuration error: JOBS_BACKEND is "inline", so jobs run inside the server. Set JOBS_BACKEND=bullmq and REDIS_URL to run a separate worker.',
  )
  process.exit(1)
}
const capWarning = fetchCapWarning(config.llm.maxInFlight)

const deps = createDeps(config, {
  errors: createErrorTracker(config.operations.sentry, {
    process: 'worker',
    release: packageJson.version,
    onError: (error) => console.error(`error tracking failed: ${error.message}`),
  }),
})
await deps.db.ping()
// Listening first: a port that cannot be had stops start-up before any job is taken.
let metricsServer: ReturnType<typeof serveMetrics> | null = null
if (config.metrics.port) {
  try {
    metricsServer = serveMetrics({
      metrics: deps.metrics,
      port: config.metrics.port,
      hostname: config.host,
      token: config.metrics.token,
      production: config.env === 'production',
      trustedIps: config.auth.trustedProxyIps,
    })
  } catch (error) {
    console.error(`Configuration error: METRICS_PORT: cannot listen on ${config.host}:${config.metrics.port} (${(error as Error).message})`)
    await deps.close()
    process.exit(1)
  }
}
const worker = startBullWorker({
  redisUrl: config.jobs.redisUrl,
  queueName: config.jobs.queueName,
  process: deps.executor.process,
  concurrency: config.jobs.concurrency,
  lockDurationMs: config.jobs.lockMs,
  onEvent: (msg, fields) => deps.logger.warn(msg, fields),
  onAbandoned: (jobId, reason) => deps.executor.abandon(jobId, reason),
  tasks: { [RETENTION_TASK]: (signal) => deps.retention.run(signal) },
  heartbeatMs: config.operations.heartbeatMs,
})
// Every worker (re)states the schedule, or its absence (RETENTION_INTERVAL_MS=0); BullMQ keeps
// one schedule per name, so one worker runs each period.
const retention = retentionTask(config, deps.retention)
await (retention ? deps.queue.schedule(retention) : deps.queue.unschedule(RETENTION_TASK)).catch((error) =>
  deps.logger.warn('retention schedule not updated', { error: (error as Error).message }),
)
deps.logger.info('worker started', {
  worker_id: worker.workerId,
  metrics: metricsServer ? `http://${config.host}:${metricsServer.port}/metrics` : null,
  concurrency: config.jobs.concurrency,
  db: deps.db.dialect,
  llm: config.llm.provider,
  llm_max_in_flight: config.llm.maxInFlight,
})
if (capWarning) deps.logger.warn(capWarning)

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  deps.logger.info('worker shutting down', { signal, grace_ms: config.jobs.shutdownGraceMs })
  await worker.close(config.jobs.shutdownGraceMs)
  await metricsServer?.stop()
  await deps.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
