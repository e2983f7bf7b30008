/**
 * End to end: a council run watched in the browser, on the real server.
 *
 * 1. Embedded defaults (libsql, in-process jobs, offline LLM with a little latency so
 *    progress is visible): a member asks with "run right away" ticked, watches the job go
 *    from queued/running to succeeded in place (its event stream, no reload, no polling),
 *    reads the rendered synthesis, the leaderboard, drafts, reviews and costs, and follows
 *    the job logs link to the log lines and the request id of the request that enqueued it.
 *    A session created without running offers "Run the council", which runs it in place.
 * 2. Production shape: JOBS_BACKEND=bullmq on Redis, PostgreSQL in a schema of its own, and
 *    `bun run worker` as a separate process. A council run enqueued from the browser is
 *    executed by the worker (its log lines carry the job and request ids; the server's do
 *    not) and the browser shows the synthesis.
 * No page raises a console error, an uncaught exception or a CSP violation.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import IORedis from 'ioredis'
import pg from 'pg'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { launchBrowser, watchPage, type PageProblems } from '../helpers/browser'
import { startServer, type RunningServer } from '../helpers/server'
import { startWorker, type WorkerProcess } from '../helpers/worker'

const TEST_TIMEOUT_MS = 90_000
const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))
/** Per LLM call: a council (drafts ∥, reviews ∥, synthesis) takes about three of these plus overhead. */
const LLM_LATENCY_MS = '250'
const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** The palette the new-session form uses by default: three members and a chair. */
const MEMBERS = ['analyst', 'pragmatist', 'skeptic']

const uniqueEmail = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`
const isFaviconNoise = (line: string) => line.includes('/favicon.ico')
const pathOf = (page: Page) => new URL(page.url()).pathname

/** One browser and the server(s) of a describe block, with helpers bound to that server. */
function harness() {
  const state = {
    server: undefined as RunningServer | undefined,
    browser: undefined as Browser | undefined,
    contexts: [] as BrowserContext[],
    /** Other processes whose output helps explain a failure (the worker). */
    extraOutput: [] as Array<{ name: string; output: () => string }>,
  }
  const server = () => state.server!

  /** Runs a test body; on failure, the tails of the processes' output go into the error. */
  async function withServerLog(body: () => Promise<void>): Promise<void> {
    try {
      await body()
    } catch (error) {
      const tails = [{ name: 'server', output: () => state.server?.output() ?? '' }, ...state.extraOutput]
        .map(({ name, output }) => `--- ${name} output (tail) ---\n${output().split('\n').slice(-40).join('\n')}`)
        .join('\n')
      if (error instanceof Error) error.message += `\n${tails}`
      throw error
    }
  }

  /** A fresh browser profile whose page is watched for problems; requests off the server fail loudly. */
  async function openPage(): Promise<{ page: Page; problems: PageProblems; offsite: string[] }> {
    const context = await state.browser!.newContext({ viewport: { width: 1280, height: 900 } })
    state.contexts.push(context)
    const offsite: string[] = []
    await context.route(
      (url) => url.origin !== server().url,
      (route) => {
        offsite.push(route.request().url())
        return route.abort()
      },
    )
    const page = await context.newPage()
    page.setDefaultTimeout(15_000)
    return { page, problems: await watchPage(page), offsite }
  }

  async function logIn(page: Page, email: string): Promise<void> {
    await page.goto(`${server().url}/login`)
    const form = page.locator('form[action="/auth/dev-login"]')
    await form.locator('input[name="email"]').fill(email)
    await form.locator('[type="submit"]').click()
    await page.waitForURL((url) => url.pathname === '/sessions')
  }

  /**
   * Asks a question on /sessions/new, with "Run the council right away" ticked or not;
   * resolves once the session page is shown, with the POST's response (its X-Request-Id
   * is the request that created the session and, when ticked, enqueued the job).
   */
  async function askCouncil(page: Page, question: string, runRightAway: boolean): Promise<{ sessionId: string; response: Response }> {
    await page.goto(`${server().url}/sessions/new`)
    const form = page.locator('form#new-session')
    await form.locator('textarea[name="question"]').fill(question)
    const runBox = form.locator('input[type="checkbox"][name="run"]')
    expect(await runBox.isChecked()).toBe(true) // the default: ask and run in one step
    await runBox.setChecked(runRightAway)
    const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions')
    await form.locator('[type="submit"]').click()
    const response = await posted
    await expectStatus(response, 200)
    const location = response.headers()['hx-location']
    expect(location).toMatch(/^\/sessions\/[^/]+$/)
    const sessionId = location!.split('/').pop()!
    await page.waitForURL((url) => url.pathname === `/sessions/${sessionId}`)
    await page.locator('#progress').waitFor()
    return { sessionId, response }
  }

  beforeAll(async () => {
    state.browser = await launchBrowser()
  }, TEST_TIMEOUT_MS)

  afterAll(async () => {
    await Promise.allSettled(state.contexts.map((context) => context.close()))
    await state.browser?.close()
  }, TEST_TIMEOUT_MS)

  return { state, server, withServerLog, openPage, logIn, askCouncil }
}

async function expectStatus(response: Response, status: number): Promise<void> {
  if (response.status() !== status)
    throw new Error(`${response.request().method()} ${response.url()} answered ${response.status()}, expected ${status}:\n${(await response.text()).slice(0, 2000)}`)
}

/**
 * Records, inside the page, every job status the progress section shows from now on.
 * The record lives in `window`, so it surviving to the end also proves the page was
 * never reloaded: only htmx swapped the section.
 */
async function recordJobStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { councilStatuses: string[] }
    w.councilStatuses = []
    const note = () => {
      const text = document.querySelector('#job-status')?.textContent?.trim()
      if (text && w.councilStatuses.at(-1) !== text) w.councilStatuses.push(text)
    }
    note()
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true })
  })
}

const recordedStatuses = (page: Page) =>
  page.evaluate(() => (window as unknown as { councilStatuses?: string[] }).councilStatuses ?? null)

/** Counts the progress polls the page makes (any session: there is one per page), and the event streams it opens. */
function countPolls(page: Page): { count: () => number; streams: () => number } {
  let polls = 0
  let streams = 0
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (/^\/sessions\/[^/]+\/progress$/.test(path)) polls++
    if (/^\/sessions\/[^/]+\/events$/.test(path)) streams++
  })
  return { count: () => polls, streams: () => streams }
}

/** The results a finished council shows on its session page. */
async function expectCouncilResults(page: Page, question: string): Promise<void> {
  const synthesis = page.locator('#synthesis')
  await synthesis.waitFor()
  const text = (await synthesis.textContent()) ?? ''
  // The chair's answer, quoting the question…
  expect(text).toContain("The council's answer")
  expect(text).toContain(question)
  // …rendered from markdown, not shown as markdown source.
  expect(await synthesis.locator('.markdown h2', { hasText: "The council's answer" }).count()).toBe(1)
  expect(await synthesis.locator('.markdown ol > li').count()).toBe(3)
  expect(await synthesis.locator('.markdown strong', { hasText: 'Question:' }).count()).toBe(1)
  expect(text).not.toContain('## ')
  expect(text).not.toContain('**')

  const leaderboard = page.locator('#leaderboard tbody tr')
  expect(await leaderboard.count()).toBe(3)
  const ranked = (await leaderboard.locator('td:nth-child(2)').allTextContents()).map((name) => name.trim()).sort()
  expect(ranked).toEqual(MEMBERS)
  expect((await leaderboard.locator('td:first-child').allTextContents()).map((n) => n.trim())).toEqual(['1', '2', '3'])

  expect(await page.locator('#drafts details').count()).toBe(3)
  expect(await page.locator('#reviews details').count()).toBe(3)
  const costs = (await page.locator('#costs').textContent()) ?? ''
  for (const stage of ['draft', 'review', 'synthesis']) expect(costs).toContain(stage)
  expect(costs).toContain('Total')
}

/** The session page, at the end of a run: finished, polling stopped, no run button. */
async function expectPollingStopped(page: Page, polls: { count: () => number }): Promise<void> {
  // Finished: the section no longer asks to be polled…
  expect(await page.locator('#progress').getAttribute('hx-get')).toBeNull()
  expect(await page.locator('#progress').getAttribute('hx-trigger')).toBeNull()
  // …and indeed no poll goes out for longer than two poll intervals.
  const after = polls.count()
  await page.waitForTimeout(2_500)
  expect(polls.count()).toBe(after)
}

describe('a council run in the browser (embedded defaults: libsql, in-process jobs)', () => {
  const h = harness()

  beforeAll(async () => {
    h.state.server = await startServer({ env: { LLM_OFFLINE_LATENCY_MS: LLM_LATENCY_MS }, echo: process.env.E2E_ECHO === 'true' })
  }, TEST_TIMEOUT_MS)

  afterAll(async () => {
    // A server that cannot shut down cleanly on SIGTERM loses audit events in production.
    expect(await h.state.server?.stop()).toBe(0)
  }, TEST_TIMEOUT_MS)

  test(
    'ask with "run right away": progress updates in place until succeeded, then the rendered synthesis, leaderboard and job logs with the request id',
    () =>
      h.withServerLog(async () => {
        const { page, problems, offsite } = await h.openPage()
        await h.logIn(page, uniqueEmail('council'))
        const question = `Should we move the team to trunk-based development? ${crypto.randomUUID().slice(0, 8)}`
        const polls = countPolls(page)
        const { sessionId, response } = await h.askCouncil(page, question, true)
        const requestId = response.headers()['x-request-id']!
        expect(requestId).toBeTruthy()

        // The page arrives with the job still under way (a council takes several LLM calls).
        await recordJobStatuses(page)
        const first = (await page.locator('#job-status').textContent())?.trim()
        expect(['queued', 'running']).toContain(first!)
        // The section follows the job's event stream rather than polling.
        expect(await page.locator('#progress').getAttribute('data-stream')).toStartWith(`/sessions/${sessionId}/events?job=`)
        expect(await page.locator('#progress').getAttribute('hx-get')).toBeNull()
        expect(await page.locator('#run-button').count()).toBe(0) // no second run while one is active
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-running.png'), fullPage: true })

        // The event stream updates the section until the job ends; nothing reloads the page, nothing polls.
        await page.locator('#job-status', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 })
        const statuses = await recordedStatuses(page)
        expect(statuses).not.toBeNull() // the page (and its window) is the one we started with
        expect(statuses![0]).toBe(first!)
        expect(statuses!.at(-1)).toBe('succeeded')
        expect(statuses!.every((status) => ['queued', 'running', 'succeeded'].includes(status))).toBe(true)
        expect(polls.streams()).toBe(1)
        expect(polls.count()).toBe(0)
        expect(pathOf(page)).toBe(`/sessions/${sessionId}`)
        expect((await page.locator('#session-status').textContent())?.trim()).toBe('succeeded')
        expect(await page.locator('#job-progress').getAttribute('value')).toBe('100')

        await expectCouncilResults(page, question)
        expect(await page.locator('#run-button').count()).toBe(0) // a succeeded session is not run again
        expect(await page.locator('#partial-notice').count()).toBe(0)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-results.png'), fullPage: true })
        await expectPollingStopped(page, polls)

        // The job logs: the summary names the request that enqueued the job; the lines tell the run.
        const logsLink = page.locator('#job-logs-link')
        const href = await logsLink.getAttribute('href')
        expect(href).toMatch(/^\/jobs\/[^/]+\/logs$/)
        const jobId = href!.split('/')[2]!
        await logsLink.click()
        await page.waitForURL((url) => url.pathname === `/jobs/${jobId}/logs`)
        const summary = (await page.locator('#job-summary').textContent()) ?? ''
        expect(summary).toContain(jobId)
        expect(summary).toContain('council')
        expect(summary).toContain('succeeded')
        expect(summary).toContain(`request ${requestId}`)
        const messages = (await page.locator('#job-logs tr.log-line').allTextContents()).join('\n')
        for (const line of ['job started', 'stage draft started', 'stage review started', 'stage synthesis started', 'council finished'])
          expect(messages).toContain(line)
        for (const member of MEMBERS) expect(messages).toContain(`draft by ${member} finished`)
        expect(await page.locator('#job-logs tr.log-line.error').count()).toBe(0)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-job-logs.png'), fullPage: true })

        // The same lines through the API, each carrying the job's and the request's ids.
        const api = await page.request.get(`${h.server().url}/api/v1/jobs/${jobId}/logs?limit=200`)
        expect(api.status()).toBe(200)
        const { items } = (await api.json()) as { items: Array<{ msg: string; job_id: string; request_id: string }> }
        expect(items.map((item) => item.msg)).toContain('council finished')
        expect(items.every((item) => item.job_id === jobId && item.request_id === requestId)).toBe(true)

        // Back to the session from the logs page.
        await page.locator(`a[href="/sessions/${sessionId}"]`).click()
        await page.waitForURL((url) => url.pathname === `/sessions/${sessionId}`)
        await page.locator('#synthesis').waitFor()

        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'a session created without running offers "Run the council"; clicking it runs the council in place',
    () =>
      h.withServerLog(async () => {
        const { page, problems, offsite } = await h.openPage()
        await h.logIn(page, uniqueEmail('later'))
        const question = `Is a four-day week right for the support team? ${crypto.randomUUID().slice(0, 8)}`
        const polls = countPolls(page)
        const { sessionId } = await h.askCouncil(page, question, false)

        // Nothing runs yet: no job, no polling, a button to start.
        expect((await page.locator('#session-status').textContent())?.trim()).toBe('created')
        expect(await page.locator('#job').count()).toBe(0)
        expect(await page.locator('#progress').getAttribute('hx-get')).toBeNull()
        const runButton = page.locator('#run-button')
        expect((await runButton.textContent())?.trim()).toBe('Run the council')
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-not-run.png'), fullPage: true })

        await recordJobStatuses(page)
        const posted = page.waitForResponse(
          (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === `/sessions/${sessionId}/run`,
        )
        await runButton.click()
        const run = await posted
        await expectStatus(run, 200)
        expect(run.request().headers()['hx-request']).toBe('true')

        // The section is swapped in place with the job, which then follows its event stream until it ends.
        await page.locator('#job-status').waitFor()
        await page.locator('#job-status', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 })
        const statuses = await recordedStatuses(page)
        expect(statuses).not.toBeNull()
        expect(['queued', 'running']).toContain(statuses![0]!)
        expect(statuses!.at(-1)).toBe('succeeded')
        expect(polls.streams()).toBe(1)
        expect(polls.count()).toBe(0)
        expect(pathOf(page)).toBe(`/sessions/${sessionId}`)

        await expectCouncilResults(page, question)
        expect(await page.locator('#run-button').count()).toBe(0)
        await expectPollingStopped(page, polls)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-run-later.png'), fullPage: true })

        // A reload shows the same finished session.
        await page.reload()
        expect((await page.locator('#job-status').textContent())?.trim()).toBe('succeeded')
        await page.locator('#synthesis').waitFor()

        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})

describe('a council run in the browser, executed by a separate worker (BullMQ on Redis, PostgreSQL)', () => {
  const h = harness()
  const schema = `e2e_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`
  const queue = `e2e-${crypto.randomUUID().slice(0, 8)}`
  let worker: WorkerProcess | undefined

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    try {
      await admin.query(`create schema ${schema}`)
    } finally {
      await admin.end()
    }
    const url = new URL(PG_URL)
    url.searchParams.set('options', `-c search_path=${schema}`)
    const env = {
      DATABASE_URL: url.toString(),
      JOBS_BACKEND: 'bullmq',
      JOBS_QUEUE: queue,
      EVENTS_PREFIX: queue,
      REDIS_URL,
      LLM_OFFLINE_LATENCY_MS: LLM_LATENCY_MS,
    }
    // The server migrates the schema on start (development: MIGRATE_ON_START), so it starts first.
    h.state.server = await startServer({ env, echo: process.env.E2E_ECHO === 'true' })
    worker = startWorker({ ...env, DATA_DIR: h.state.server.dataDir })
    h.state.extraOutput.push({ name: 'worker', output: worker.output })
    await worker.ready
  }, TEST_TIMEOUT_MS)

  afterAll(async () => {
    const workerCode = await worker?.stop('SIGTERM')
    const serverCode = await h.state.server?.stop()
    const admin = new pg.Client({ connectionString: PG_URL })
    await admin.connect()
    await admin.query(`drop schema if exists ${schema} cascade`).finally(() => admin.end())
    // The queue's keys and the workers' heartbeat set are this run's alone.
    const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1 })
    try {
      const keys = [...(await redis.keys(`bull:${queue}:*`)), ...(await redis.keys(`${queue}:job:*`)), `${queue}:workers`]
      await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
    expect(workerCode).toBe(0)
    expect(serverCode).toBe(0)
  }, TEST_TIMEOUT_MS)

  test(
    'a council run enqueued through the browser is executed by the worker process and the browser shows the synthesis',
    () =>
      h.withServerLog(async () => {
        const server = h.server()
        // Ready: PostgreSQL, the queue, and a live worker.
        const ready = (await (await fetch(`${server.url}/readyz`)).json()) as {
          status: string
          components: Record<string, { status: string; dialect?: string; workers?: number }>
        }
        expect(ready.status).toBe('ok')
        expect(ready.components.db!.dialect).toBe('pg')
        expect(ready.components.queue!.status).toBe('ok')
        expect(ready.components.worker!.workers).toBeGreaterThanOrEqual(1)

        const { page, problems, offsite } = await h.openPage()
        await h.logIn(page, uniqueEmail('worker'))
        const question = `Should we split the monolith into services? ${crypto.randomUUID().slice(0, 8)}`
        const { sessionId, response } = await h.askCouncil(page, question, true)
        const requestId = response.headers()['x-request-id']!
        await recordJobStatuses(page)

        await page.locator('#job-status', { hasText: 'succeeded' }).waitFor({ timeout: 45_000 })
        expect((await recordedStatuses(page))?.at(-1)).toBe('succeeded')
        await expectCouncilResults(page, question)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'council-worker.png'), fullPage: true })

        const jobId = (await page.locator('#job-logs-link').getAttribute('href'))!.split('/')[2]!
        // The worker ran it: its JSON log lines carry the job id and the request id of the browser's request…
        const workerLines = worker!
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>)
        const finished = workerLines.find((line) => line.msg === 'council finished' && line.job_id === jobId)
        expect(finished).toBeDefined()
        expect(finished!.request_id).toBe(requestId)
        expect(finished!.session_id).toBe(sessionId)
        // …and the server only enqueued it.
        expect(server.output()).not.toContain('council finished')
        expect(server.output()).not.toContain('job started')

        // The logs page, stored by the worker in PostgreSQL, read by the server.
        await page.locator('#job-logs-link').click()
        await page.waitForURL((url) => url.pathname === `/jobs/${jobId}/logs`)
        expect(await page.locator('#job-summary').textContent()).toContain(`request ${requestId}`)
        expect((await page.locator('#job-logs tr.log-line').allTextContents()).join('\n')).toContain('council finished')

        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})
