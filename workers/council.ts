/**
 * The worker process: `bun run worker` (JOBS_BACKEND=bullmq). It takes job ids
 * from BullMQ and runs them with the same executor the in-process runner uses.
 * On SIGTERM it stops taking jobs, lets running ones finish for
 * JOBS_SHUTDOWN_GRACE_MS, then releases the rest to other workers (they resume
 * from their last stored stage), closes the queue, then the database.
 */
import { createDeps } from '../src/app'
import { ConfigError, loadConfig } from '../src/config'
import { startBullWorker } from '../plugins/jobs/bullmq'

let config
try {
  config = loadConfig()
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`)
    process.exit(1)
  }
  throw error
}
if (config.jobs.backend !== 'bullmq') {
  console.error(
    'Configuration error: JOBS_BACKEND is "inline", so jobs run inside the server. Set JOBS_BACKEND=bullmq and REDIS_URL to run a separate worker.',
  )
  process.exit(1)
}

const deps = createDeps(config)
await deps.db.ping()
const worker = startBullWorker({
  redisUrl: config.jobs.redisUrl,
  queueName: config.jobs.queueName,
  process: deps.executor.process,
  concurrency: config.jobs.concurrency,
  lockDurationMs: config.jobs.lockMs,
  onEvent: (msg, fields) => deps.logger.warn(msg, fields),
})
deps.logger.info('worker started', {
  worker_id: worker.workerId,
  concurrency: config.jobs.concurrency,
  db: deps.db.dialect,
  llm: config.llm.provider,
})

let stopping = false
const shutdown = async (signal: string) => {
  if (stopping) return
  stopping = true
  deps.logger.info('worker shutting down', { signal, grace_ms: config.jobs.shutdownGraceMs })
  await worker.close(config.jobs.shutdownGraceMs)
  await deps.close()
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
