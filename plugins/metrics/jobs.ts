/**
 * Job and LLM metrics. The job executor reports through a JobObserver (the
 * same code in the server's in-process runner and in the worker process); the
 * queue's backlog is read when /metrics is scraped, under a short timeout.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

type LlmCallStatus = 'ok' | 'error' | 'cancelled'
/** How a job attempt ended: the first three are final; a retried or interrupted job runs again. */
export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'retrying' | 'interrupted'

interface LlmCallSample {
  /** Council stage (draft, review, synthesis) or "agent" for a direct agent call. */
  stage: string
  agent: string
  model: string
  status: LlmCallStatus
  tokensIn: number
  tokensOut: number
  costMicroUsd: number
  /** Absent when the call did not report back (failed or cut short). */
  seconds?: number
  /** Whose job made the call, and under which role (for the usage rollups; Prometheus ignores them). */
  userId?: string
  role?: string | null
}

/** What the job executor reports. Implementations never throw: metrics must not fail a job. */
export interface JobObserver {
  llmCall(call: LlmCallSample): void
  /** A job's first attempt started, after waiting `queueSeconds` since it was created. */
  jobStarted(job: { kind: string; queueSeconds: number }): void
  /** A job attempt ended; `seconds` runs from the job's first start. */
  jobFinished(job: { kind: string; status: JobOutcome; agent?: string; seconds?: number; userId?: string; role?: string | null; error?: string }): void
}

/**
 * One observer that reports to several (the Prometheus metrics and the usage rollups).
 * @example
 * createJobExecutor({ …, observe: observeAll(appMetrics.jobs, usage.observer) })
 */
export const observeAll = (...observers: JobObserver[]): JobObserver => ({
  llmCall: (call) => observers.forEach((o) => o.llmCall(call)),
  jobStarted: (job) => observers.forEach((o) => o.jobStarted(job)),
  jobFinished: (job) => observers.forEach((o) => o.jobFinished(job)),
})

const LLM_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120]
const JOB_DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]
const QUEUE_WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900]

/**
 * Registers the job and LLM counters in `registry` and returns the observer that feeds them.
 * @example
 * const observer = createJobMetrics(registry)
 * createJobExecutor({ …, observe: observer })
 */
export function createJobMetrics(registry: Registry): JobObserver {
  const registers = [registry]
  const llmCalls = new Counter({
    name: 'llm_calls_total',
    help: 'LLM calls, by council stage (or "agent"), agent, model and status (ok, error, cancelled).',
    labelNames: ['stage', 'agent', 'model', 'status'] as const,
    registers,
  })
  const llmTokens = new Counter({
    name: 'llm_tokens_total',
    help: 'LLM tokens, by direction (in = prompt, out = completion) and model.',
    labelNames: ['direction', 'model'] as const,
    registers,
  })
  const llmCost = new Counter({
    name: 'llm_cost_usd_total',
    help: 'LLM cost in USD from the configured price table (LLM_PRICES), by model.',
    labelNames: ['model'] as const,
    registers,
  })
  const llmDuration = new Histogram({
    name: 'llm_call_duration_seconds',
    help: 'Duration of successful LLM calls in seconds, by stage.',
    labelNames: ['stage'] as const,
    buckets: LLM_DURATION_BUCKETS,
    registers,
  })
  const jobs = new Counter({
    name: 'jobs_total',
    help: 'Jobs that reached a final status (succeeded, failed, cancelled), by kind (council, agent).',
    labelNames: ['kind', 'status'] as const,
    registers,
  })
  const retries = new Counter({
    name: 'job_retries_total',
    help: 'Job attempts that failed and were left to be retried, by kind.',
    labelNames: ['kind'] as const,
    registers,
  })
  const jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'Time from a job’s first start to success or failure in seconds (retries included), by kind.',
    labelNames: ['kind'] as const,
    buckets: JOB_DURATION_BUCKETS,
    registers,
  })
  const queueWait = new Histogram({
    name: 'job_queue_wait_seconds',
    help: 'Time a job waited between being created and its first start in seconds, by kind.',
    labelNames: ['kind'] as const,
    buckets: QUEUE_WAIT_BUCKETS,
    registers,
  })
  const agentCalls = new Counter({
    name: 'agent_calls_total',
    help: 'Direct agent calls through the agent proxy that reached a final status, by agent and status.',
    labelNames: ['agent', 'status'] as const,
    registers,
  })

  // Metrics must never fail a job: an observer that throws (it should not) is ignored.
  const safely =
    <Args extends unknown[]>(fn: (...args: Args) => void) =>
    (...args: Args): void => {
      try {
        fn(...args)
      } catch {
        // nothing to do: a missed sample is better than a failed job
      }
    }

  return {
    llmCall: safely((call: LlmCallSample) => {
      llmCalls.inc({ stage: call.stage, agent: call.agent, model: call.model, status: call.status })
      if (call.tokensIn > 0) llmTokens.inc({ direction: 'in', model: call.model }, call.tokensIn)
      if (call.tokensOut > 0) llmTokens.inc({ direction: 'out', model: call.model }, call.tokensOut)
      if (call.costMicroUsd > 0) llmCost.inc({ model: call.model }, call.costMicroUsd / 1_000_000)
      if (call.seconds !== undefined) llmDuration.observe({ stage: call.stage }, call.seconds)
    }),
    jobStarted: safely(({ kind, queueSeconds }: { kind: string; queueSeconds: number }) => {
      queueWait.observe({ kind }, Math.max(0, queueSeconds))
    }),
    jobFinished: safely(({ kind, status, agent, seconds }: { kind: string; status: JobOutcome; agent?: string; seconds?: number }) => {
      if (status === 'interrupted') return
      if (status === 'retrying') return retries.inc({ kind })
      jobs.inc({ kind, status })
      if (agent !== undefined) agentCalls.inc({ agent, status })
      if (seconds !== undefined && status !== 'cancelled') jobDuration.observe({ kind }, Math.max(0, seconds))
    }),
  }
}

interface JobFacts {
  kind: string
  userId?: string
  role?: string | null
  input: unknown
  createdAt: Date
  startedAt: Date | null
}

export type JobTracker = ReturnType<typeof trackJob>

/**
 * One job attempt as the executor sees it. The council reports a call before it
 * starts (beforeCall) and only a successful one after (afterCall), so a call
 * that never reports back failed — or was cut short, if the job was cancelled
 * or interrupted — and is counted when the attempt ends.
 * @example
 * const track = trackJob(observer, job)
 * track.started(new Date())
 * track.callStarted({ stage: 'draft', agent: 'analyst', model: 'offline-small' })
 * track.callFinished({ stage: 'draft', agent: 'analyst', tokensIn: 120, tokensOut: 80, costMicroUsd: 28 })
 * track.finished('succeeded')
 */
export function trackJob(observer: JobObserver, job: JobFacts) {
  const open = new Map<string, { stage: string; agent: string; model: string; started: number }>()
  let firstStart = job.startedAt
  let done = false
  const agent = job.kind === 'agent' ? (job.input as { agent?: unknown } | null)?.agent : undefined
  const owner = { userId: job.userId, role: job.role }
  return {
    /** The attempt claimed the job at `at`; the first attempt also reports the queue wait. */
    started(at: Date) {
      if (firstStart) return
      firstStart = at
      observer.jobStarted({ kind: job.kind, queueSeconds: (at.getTime() - job.createdAt.getTime()) / 1000 })
    },
    callStarted(call: { stage: string; agent: string; model: string }) {
      open.set(`${call.stage}\u0000${call.agent}`, { stage: call.stage, agent: call.agent, model: call.model, started: performance.now() })
    },
    callFinished(call: { stage: string; agent: string; tokensIn: number; tokensOut: number; costMicroUsd: number }) {
      const key = `${call.stage}\u0000${call.agent}`
      const begun = open.get(key)
      open.delete(key)
      observer.llmCall({
        ...owner,
        stage: call.stage,
        agent: call.agent,
        model: begun?.model ?? 'unknown',
        status: 'ok',
        tokensIn: call.tokensIn,
        tokensOut: call.tokensOut,
        costMicroUsd: call.costMicroUsd,
        seconds: begun ? (performance.now() - begun.started) / 1000 : undefined,
      })
    },
    /** Ends the attempt (once; later calls are ignored); `error` is a failure's message. */
    finished(outcome: JobOutcome, error?: string) {
      if (done) return
      done = true
      const cutShort = outcome === 'cancelled' || outcome === 'interrupted'
      for (const call of open.values())
        observer.llmCall({ ...owner, ...call, status: cutShort ? 'cancelled' : 'error', tokensIn: 0, tokensOut: 0, costMicroUsd: 0 })
      open.clear()
      observer.jobFinished({
        ...owner,
        error,
        kind: job.kind,
        status: outcome,
        agent: typeof agent === 'string' ? agent : undefined,
        seconds: firstStart ? (Date.now() - firstStart.getTime()) / 1000 : undefined,
      })
    },
  }
}

/**
 * job_queue_backlog{state}, job_workers, job_queue_up and the two ages the
 * staleness alerts watch, read from the queue when scraped. One health() call
 * serves every gauge of a scrape, and a
 * queue that does not answer within `timeoutMs` reads as down rather than
 * holding up /metrics.
 */
export function registerQueueGauges(registry: Registry, health: () => Promise<Record<string, unknown>>, timeoutMs: number): void {
  let pending: Promise<Record<string, unknown> | null> | null = null
  const snapshot = () =>
    (pending ??= withTimeout(health(), timeoutMs)
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = null), 0)))

  new Gauge({
    name: 'job_queue_up',
    help: `1 when the job queue answered the scrape within ${timeoutMs} ms, else 0.`,
    registers: [registry],
    async collect() {
      this.set((await snapshot()) ? 1 : 0)
    },
  })
  new Gauge({
    name: 'job_queue_backlog',
    help: 'Jobs in the queue by state (waiting, active, delayed, failed); the in-process runner has waiting and active only.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const stats = await snapshot()
      this.reset()
      if (!stats) return
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
        if (typeof stats[state] === 'number') this.set({ state }, stats[state])
    },
  })
  new Gauge({
    name: 'job_workers',
    help: 'Worker processes with a fresh heartbeat (the in-process runner counts as 1).',
    registers: [registry],
    async collect() {
      const stats = await snapshot()
      this.reset()
      if (!stats) return
      if (typeof stats.workers === 'number') this.set(stats.workers)
      else if (stats.backend === 'inline') this.set(1)
    },
  })
  const age = (name: string, help: string, at: (stats: Record<string, unknown>) => unknown) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await snapshot()
        this.reset()
        const value = stats ? at(stats) : undefined
        if (typeof value === 'number') this.set(Math.max(0, (Date.now() - value) / 1000))
      },
    })
  age('job_worker_heartbeat_age_seconds', 'Seconds since any worker last sent a heartbeat (BullMQ; absent in-process or before the first beat).', (stats) => stats.last_heartbeat_at)
  age('job_queue_oldest_waiting_age_seconds', 'Seconds the oldest job still waiting for a runner has waited (absent when none waits).', (stats) => stats.oldest_waiting_at)
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
