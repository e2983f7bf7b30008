/** Starts `bun run worker` as a real separate process for integration tests and benchmarks. */
import type { Subprocess } from 'bun'
import IORedis from 'ioredis'
import { heartbeatsKey } from '../../plugins/jobs/types'

export interface WorkerProcess {
  proc: Subprocess
  output: () => string
  /** Resolves when the worker's first heartbeat is in Redis (whatever its log level). */
  ready: Promise<void>
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>
}

export function startWorker(env: Record<string, string>): WorkerProcess {
  // WORKER_BUN_FLAGS (e.g. --cpu-prof-md) lets a benchmark profile the worker.
  const flags = process.env.WORKER_BUN_FLAGS?.split(' ').filter(Boolean) ?? []
  const proc = Bun.spawn(['bun', ...flags, 'run', 'workers/council.ts'], {
    cwd: `${import.meta.dir}/../..`,
    env: { ...process.env, APP_ENV: 'test', JOBS_BACKEND: 'bullmq', LOG_LEVEL: 'info', LOG_FILE: '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let text = ''
  let resolveReady: () => void
  let rejectReady: (error: Error) => void
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve
    rejectReady = reject
  })
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
  }
  const watchHeartbeat = async () => {
    const redis = new IORedis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
    try {
      const key = heartbeatsKey(env.JOBS_QUEUE ?? 'council-jobs')
      while (proc.exitCode === null) {
        if (await redis.zscore(key, `${require('node:os').hostname()}:${proc.pid}`)) return resolveReady()
        await Bun.sleep(25)
      }
    } finally {
      redis.disconnect()
    }
  }
  void watchHeartbeat()
  void pump(proc.stdout as ReadableStream<Uint8Array>)
  void pump(proc.stderr as ReadableStream<Uint8Array>)
  void proc.exited.then((code) => rejectReady(new Error(`worker exited with ${code} before it started:\n${text}`)))
  return {
    proc,
    output: () => text,
    ready,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode) return proc.exitCode
      proc.kill(signal)
      return proc.exited
    },
  }
}
