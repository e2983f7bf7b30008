/**
 * Shared by the council suites on the in-process runner (council-*.test.ts):
 * starting a council through the API, waiting for the runner, and LLM
 * providers that fail or answer on cue.
 */
import { expect } from 'bun:test'
import { createInlineQueue } from '../../plugins/jobs/inline'
import { createOfflineProvider } from '../../src/llm/offline'
import { LlmError, type LlmProvider } from '../../src/llm/types'
import type { TestApp } from '../helpers/app'

export const MEMBERS = ['analyst', 'pragmatist', 'skeptic']

/** Waits until the in-process runner has nothing waiting, running or scheduled for retry. */
export async function idle(t: TestApp): Promise<void> {
  expect(t.deps.queue.backend).toBe('inline')
  // The inline queue's test hook; the JobQueue interface does not expose it.
  await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
}

/** Creates a session and runs it; returns the ids and the run request's X-Request-Id. */
export async function startCouncil(t: TestApp, user: string, question = 'Should we move our services to a monorepo this quarter?', headers: Record<string, string> = {}) {
  const created = await t.json('POST', '/api/v1/sessions', { user, body: { question } })
  expect(created.status).toBe(201)
  const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user, headers })
  expect(run.status).toBe(202)
  return { sessionId: created.body.id as string, jobId: run.body.job_id as string, requestId: run.headers.get('x-request-id')!, run }
}

export const getJob = async (t: TestApp, user: string, jobId: string) => (await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body

/** Polls the job until `until` holds (for states between enqueue and idle). */
export async function waitForJob(t: TestApp, user: string, jobId: string, until: (job: any) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const job = await getJob(t, user, jobId)
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the state in time: ${JSON.stringify(job)}`)
    await Bun.sleep(10)
  }
}

export type Stage = 'draft' | 'review' | 'synthesis'
export const stageOf = (messages: Array<{ role: string; content: string }>): Stage => {
  const user = messages.filter((message) => message.role === 'user').map((message) => message.content).join('\n')
  return user.includes('Leaderboard (mean rank') ? 'synthesis' : user.includes('FINAL RANKING') ? 'review' : 'draft'
}

/** The offline provider, counting calls per stage and failing the calls `fail` picks with a retryable error. */
export function flakyLlm(fail: (stage: Stage, nth: number) => boolean) {
  const offline = createOfflineProvider({ latencyMs: 0 })
  const calls: Record<Stage, number> = { draft: 0, review: 0, synthesis: 0 }
  const llm: LlmProvider = {
    name: 'offline-flaky',
    async complete(request) {
      const stage = stageOf(request.messages)
      const nth = ++calls[stage]
      if (fail(stage, nth)) throw new LlmError('flaky: HTTP 503 upstream overloaded', true, 503)
      return offline.complete(request)
    },
  }
  return { llm, calls }
}

/** Every stored output of the session's council. */
export function outputRows(t: TestApp, sessionId: string) {
  return t.deps.stores.stageOutputs.forRun(sessionId)
}
