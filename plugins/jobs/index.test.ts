/**
 * The jobs plugin: JOBS_BACKEND picks the runner, and the runner's state shows
 * in /readyz as the `queue` and `worker` components, mounted here through the
 * health plugin on a bare Elysia app. The in-process runner's own contract:
 * bounded concurrency, retries with exponential backoff until attempts run out,
 * PermanentJobError failing at once, cancellation through the job's AbortSignal
 * (reason JobCancelled), and a shutdown that aborts what runs and takes nothing new.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { testConfig } from '../../src/config'
import type { Authenticator } from '../../src/identity'
import { health } from '../health'
import { rbac } from '../rbac'
import { createJobQueue, heartbeatsKey, JobCancelled, jobsReadiness, PermanentJobError, type JobQueue, type ProcessContext } from '.'
import { createInlineQueue } from './inline'

const nobody: Authenticator = { clientIp: () => null, authenticate: async () => null }
const readyz = async (queue: JobQueue) => {
  const app = new Elysia().use(health({ checks: jobsReadiness(queue, { worker: { degradedMs: 15_000, failMs: 60_000 }, backlog: { degradedMs: 60_000, failMs: 300_000 } }), timeoutMs: 500, guard: rbac({ authenticator: nobody }) }))
  const res = await app.handle(new Request('http://localhost/readyz'))
  return { status: res.status, body: (await res.json()) as any }
}

/** A processor that records each call and behaves as `behave` says for that call. */
function recorder(behave: (jobId: string, ctx: ProcessContext) => Promise<void> = async () => undefined) {
  const calls: Array<{ jobId: string; attempt: number; maxAttempts: number; at: number }> = []
  const process = (jobId: string, ctx: ProcessContext) => {
    calls.push({ jobId, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, at: performance.now() })
    return behave(jobId, ctx)
  }
  return { calls, process }
}

describe('the inline runner', () => {
  test('JOBS_BACKEND=inline (the default) runs each enqueued id once, attempt 1 of JOBS_ATTEMPTS', async () => {
    const { calls, process } = recorder()
    const queue = createJobQueue(testConfig({ JOBS_ATTEMPTS: '4' }), process) as ReturnType<typeof createInlineQueue>
    expect(queue.backend).toBe('inline')
    await queue.enqueue('a')
    await queue.enqueue('b')
    await queue.idle()
    expect(calls.map(({ jobId, attempt, maxAttempts }) => [jobId, attempt, maxAttempts])).toEqual([
      ['a', 1, 4],
      ['b', 1, 4],
    ])
    await queue.close()
  })

  test('no more than `concurrency` jobs run at once', async () => {
    let running = 0
    let most = 0
    const { process } = recorder(async () => {
      most = Math.max(most, ++running)
      await Bun.sleep(10)
      running--
    })
    const queue = createInlineQueue({ process, concurrency: 2, attempts: 1 })
    for (let i = 0; i < 6; i++) await queue.enqueue(`job-${i}`)
    await queue.idle()
    expect(most).toBe(2)
    await queue.close()
  })

  test('a failing job is retried with exponential backoff until attempts run out; errors are reported', async () => {
    const errors: string[] = []
    const { calls, process } = recorder(async () => {
      throw new Error('flaky')
    })
    const queue = createInlineQueue({ process, concurrency: 1, attempts: 3, backoffMs: 20, onError: (jobId, error) => errors.push(`${jobId}: ${(error as Error).message}`) })
    await queue.enqueue('x')
    await queue.idle()
    expect(calls.map((call) => call.attempt)).toEqual([1, 2, 3])
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(calls[1]!.at - calls[0]!.at)
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(38)
    expect(errors).toEqual(['x: flaky', 'x: flaky', 'x: flaky'])
    await queue.close()
  })

  test('PermanentJobError fails the job at once, without a retry', async () => {
    const { calls, process } = recorder(async () => {
      throw new PermanentJobError('quorum lost')
    })
    const queue = createInlineQueue({ process, concurrency: 1, attempts: 3, backoffMs: 1 })
    await queue.enqueue('y')
    await queue.idle()
    expect(calls).toHaveLength(1)
    await queue.close()
  })

  /** Runs until aborted, keeping the abort reason. */
  const untilAborted = (reasons: unknown[]) => (_: string, { signal }: ProcessContext) =>
    new Promise<void>((resolve) =>
      signal.addEventListener('abort', () => {
        reasons.push(signal.reason)
        resolve()
      }),
    )

  test('cancel drops a waiting job and aborts a running one with JobCancelled as the reason', async () => {
    const reasons: unknown[] = []
    const { calls, process } = recorder(untilAborted(reasons))
    const queue = createInlineQueue({ process, concurrency: 1, attempts: 1 })
    await queue.enqueue('running')
    await queue.enqueue('waiting')
    await Bun.sleep(5)
    await queue.cancel('waiting')
    await queue.cancel('running')
    await queue.idle()
    expect(calls.map((call) => call.jobId)).toEqual(['running'])
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toBeInstanceOf(JobCancelled)
  })

  test('close aborts running jobs (not as a cancellation) and refuses new ones', async () => {
    const reasons: unknown[] = []
    const { process } = recorder(untilAborted(reasons))
    const queue = createInlineQueue({ process, concurrency: 1, attempts: 1 })
    await queue.enqueue('long')
    await Bun.sleep(5)
    await queue.close()
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).not.toBeInstanceOf(JobCancelled)
    await expect(queue.enqueue('late')).rejects.toThrow('shutting down')
  })
})

describe('/readyz components', () => {
  test('inline: the queue answers with its backlog, and the worker is this process', async () => {
    const queue = createInlineQueue({ process: async () => undefined, concurrency: 1, attempts: 1 })
    const res = await readyz(queue)
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ok')
    expect(res.body.components.queue).toMatchObject({ status: 'ok', backend: 'inline', waiting: 0, active: 0 })
    expect(res.body.components.worker).toMatchObject({ status: 'ok', backend: 'inline', in_process: true })
    await queue.close()
  })

  const bull = (health: JobQueue['health']): JobQueue => ({
    backend: 'bullmq',
    enqueue: async () => undefined,
    cancel: async () => undefined,
    health,
    schedule: async () => undefined,
    unschedule: async () => undefined,
    close: async () => undefined,
  })

  test('BullMQ without a live worker: degraded, telling how to start one; with one, ok with the count', async () => {
    const idle = await readyz(bull(async () => ({ backend: 'bullmq', waiting: 3, active: 0, workers: 0, last_heartbeat_at: null, oldest_waiting_at: null })))
    expect(idle.status).toBe(200)
    expect(idle.body.status).toBe('degraded')
    expect(idle.body.components.worker.error).toContain('bun run worker')
    const live = await readyz(bull(async () => ({ backend: 'bullmq', waiting: 0, active: 0, workers: 2, last_heartbeat_at: Date.now() - 1000, oldest_waiting_at: null })))
    expect(live.body.status).toBe('ok')
    expect(live.body.components.worker).toMatchObject({ status: 'ok', workers: 2, heartbeat_age_ms: expect.any(Number) })
  })

  test('heartbeat and backlog ages: degraded past the first threshold, fail past the second, overall still 200 degraded', async () => {
    const at = (workerAgeMs: number, backlogAgeMs: number) =>
      readyz(
        bull(async () => ({
          backend: 'bullmq',
          waiting: 1,
          active: 0,
          workers: 1,
          last_heartbeat_at: Date.now() - workerAgeMs,
          oldest_waiting_at: Date.now() - backlogAgeMs,
        })),
      )
    const slow = await at(20_000, 70_000)
    expect(slow.status).toBe(200)
    expect(slow.body.status).toBe('degraded')
    expect(slow.body.components.worker.heartbeat_age_ms).toBeGreaterThanOrEqual(20_000)
    expect(slow.body.components.worker.status).toBe('degraded')
    expect(slow.body.components.backlog).toMatchObject({ status: 'degraded', waiting: 1 })
    const gone = await at(61_000, 301_000)
    expect(gone.status).toBe(200)
    expect(gone.body.status).toBe('degraded')
    expect(gone.body.components.worker.status).toBe('fail')
    expect(gone.body.components.backlog.status).toBe('fail')
    const fine = await at(1000, 1000)
    expect(fine.body.status).toBe('ok')
    expect(fine.body.components.backlog).toMatchObject({ status: 'ok', latency_ms: expect.any(Number), oldest_waiting_age_ms: expect.any(Number) })
  })

  test('a queue that cannot be reached fails readiness (503); both components ask it once', async () => {
    let asked = 0
    const res = await readyz(
      bull(async () => {
        asked++
        throw new Error('Redis is not reachable')
      }),
    )
    expect(res.status).toBe(503)
    expect(res.body.components.queue).toMatchObject({ status: 'fail', error: 'Redis is not reachable' })
    expect(asked).toBe(1)
  })

  test("workers heartbeat into the queue's own sorted set", () => {
    expect(heartbeatsKey('council-jobs')).toBe('council-jobs:workers')
  })
})
