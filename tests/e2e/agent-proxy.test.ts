/**
 * End to end: the agent proxy on the real server (embedded defaults, dev auth,
 * ADMIN_EMAILS set), from outside over HTTP and in Debian's chromium.
 * A member calling POST /api/v1/agents/analyst/run is refused (403), even when
 * claiming a role with X-Role, which only APP_ENV=test honours. An admin grants
 * ADMIN_AGENT through /api/admin/role-bindings; the operator's call is then
 * accepted (202 {job_id}), runs, and its job carries the role and the request id.
 * In the browser, the operator's /jobs/<job_id>/logs shows the summary (role
 * ADMIN_AGENT, the request id) and the agent's answer; the member gets 404 there.
 * The seed's journey also runs wholly in the browser: log in, run an agent via
 * the proxy from /agents, see its job_id, open its logs link.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectNoProblems, screenshotPath, uniqueEmail } from '../helpers/e2e'
import type { JobViewType } from '../../src/modules/jobs/model'

const TEST_TIMEOUT_MS = 60_000
const ADMIN = 'proxy-admin@example.com'
const OPERATOR = uniqueEmail('operator')
const MEMBER = uniqueEmail('member')

const { server, withServerLog, signIn } = browserSuite({ env: { ADMIN_EMAILS: ADMIN, LLM_OFFLINE_LATENCY_MS: '100' }, timeoutMs: TEST_TIMEOUT_MS })

/** A JSON call as `user`; development mode trusts X-User-Id (no cookie, so no CSRF token). */
async function call(method: string, path: string, user: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server().url}${path}`, {
    method,
    headers: { 'x-user-id': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  // any: the bodies of many endpoints pass through here; each assertion below says what it expects.
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : null }
}

async function waitForJob(jobId: string, user: string, timeoutMs = 20_000): Promise<JobViewType> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const { status, body } = await call('GET', `/api/v1/jobs/${jobId}`, user)
    expect(status).toBe(200)
    if (!['queued', 'running'].includes(body.status)) return body as JobViewType
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${body.status} after ${timeoutMs} ms`)
    await Bun.sleep(100)
  }
}

describe('the agent proxy', () => {
  test(
    'a member gets 403; an ADMIN_AGENT granted by an admin gets 202 {job_id}, and sees the role and the answer on the job logs page',
    () =>
      withServerLog(async () => {
        const input = `Summarise the risks of a big-bang migration ${crypto.randomUUID().slice(0, 8)}`

        // A plain member is refused, with the error shape and the request id of the response.
        const refused = await call('POST', '/api/v1/agents/analyst/run', MEMBER, { input })
        expect(refused.status).toBe(403)
        expect(refused.body.error.code).toBe('forbidden')
        expect(refused.body.error.request_id).toBe(refused.headers.get('x-request-id'))
        // X-Role simulates roles only under APP_ENV=test; this server runs as development.
        const pretending = await call('POST', '/api/v1/agents/analyst/run', MEMBER, { input }, { 'x-role': 'ADMIN_AGENT' })
        expect(pretending.status).toBe(403)
        // Listing agents is open to members.
        const agents = await call('GET', '/api/v1/agents', MEMBER)
        expect(agents.status).toBe(200)
        expect(agents.body.items.map((agent: { name: string }) => agent.name)).toContain('analyst')

        // The admin (ADMIN_EMAILS → admin on first sight) grants ADMIN_AGENT to the operator.
        const me = await call('GET', '/api/v1/me', ADMIN)
        expect(me.body.roles).toContain('admin')
        const grant = await call('POST', '/api/admin/role-bindings', ADMIN, { email: OPERATOR, role: 'ADMIN_AGENT' })
        expect(grant.status).toBe(201)
        expect(grant.body).toMatchObject({ email: OPERATOR, role: 'ADMIN_AGENT', created_by: ADMIN })
        // Granting is admin business: the member cannot do it for themself.
        expect((await call('POST', '/api/admin/role-bindings', MEMBER, { email: MEMBER, role: 'ADMIN_AGENT' })).status).toBe(403)

        // The operator's call is accepted and enqueued.
        const accepted = await call('POST', '/api/v1/agents/analyst/run', OPERATOR, { input })
        expect(accepted.status).toBe(202)
        const jobId = accepted.body.job_id as string
        expect(typeof jobId).toBe('string')
        expect(accepted.body.status).toBe('queued')
        expect(accepted.headers.get('location')).toBe(`/api/v1/jobs/${jobId}`)
        const requestId = accepted.headers.get('x-request-id')!
        expect(requestId).toBeTruthy()

        const job = await waitForJob(jobId, OPERATOR)
        expect(job).toMatchObject({ id: jobId, kind: 'agent', status: 'succeeded', role: 'ADMIN_AGENT', request_id: requestId, session_id: null })
        const answer = String(job.output?.content)
        expect(answer).toContain(input)

        // The job is the operator's: anyone else gets 404, never 403.
        expect((await call('GET', `/api/v1/jobs/${jobId}`, MEMBER)).status).toBe(404)

        // The audit trail holds the call with the role and the job, under the same request id.
        const trail = await call('GET', `/api/admin/audit?request_id=${encodeURIComponent(requestId)}`, ADMIN)
        expect(trail.status).toBe(200)
        expect(trail.body.items).toHaveLength(1)
        expect(trail.body.items[0]).toMatchObject({ action: 'agent.call', actor: OPERATOR, role: 'ADMIN_AGENT', job_id: jobId, target: 'agent:analyst' })

        // In the browser, as the operator: the job logs page.
        const { page, problems, offsite } = await signIn(OPERATOR)
        const response = await page.goto(`${server().url}/jobs/${jobId}/logs`)
        expect(response?.status()).toBe(200)
        const summary = (await page.locator('#job-summary').textContent()) ?? ''
        expect(summary).toContain(jobId)
        expect(summary).toContain('agent')
        expect(summary).toContain('succeeded')
        expect(summary).toContain('role ADMIN_AGENT')
        expect(summary).toContain(`request ${requestId}`)
        const output = page.locator('#agent-output')
        expect(await output.locator('h2').textContent()).toBe('Answer')
        const shown = (await output.locator('pre').textContent()) ?? ''
        expect(shown.trim()).toBe(answer.trim())
        expect(shown).toContain(input)
        const lines = (await page.locator('#job-logs tr.log-line').allTextContents()).join('\n')
        for (const msg of ['job started', 'calling agent analyst', 'agent analyst answered', 'job finished']) expect(lines).toContain(msg)
        // An agent job belongs to no session: no link back to one.
        expect(await page.locator('#main a[href^="/sessions/"]').count()).toBe(0)
        await page.screenshot({ path: screenshotPath('agent-job-logs.png'), fullPage: true })
        expectNoProblems(problems)
        expect(offsite).toEqual([])

        // The member, signed in, cannot open it.
        const other = await signIn(MEMBER)
        expect((await other.page.goto(`${server().url}/jobs/${jobId}/logs`))?.status()).toBe(404)
        expect(await other.page.locator('#agent-output').count()).toBe(0)
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    "the seed's journey in the browser: log in, run an agent via the proxy, see its job_id, open its logs link",
    () =>
      withServerLog(async () => {
        const operator = uniqueEmail('journey')
        expect((await call('POST', '/api/admin/role-bindings', ADMIN, { email: operator, role: 'ADMIN_AGENT' })).status).toBe(201)
        const { page, problems, offsite } = await signIn(operator)
        await page.locator('nav a[href="/agents"]').click()
        await page.waitForURL((url) => url.pathname === '/agents')

        const input = `Name three risks of a big-bang migration ${crypto.randomUUID().slice(0, 8)}`
        await page.locator('#agent-name').selectOption('analyst')
        await page.locator('#agent-input').fill(input)
        const ran = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/agents/run')
        await page.locator('#agent-run button[type="submit"]').click()
        expect((await ran).status()).toBe(202)
        const jobId = ((await page.locator('#agent-job-id').textContent()) ?? '').trim()
        expect(jobId).toMatch(/^[0-9a-f-]{36}$/)
        expect(new URL(page.url()).pathname).toBe('/agents')

        const job = await waitForJob(jobId, operator)
        expect(job).toMatchObject({ kind: 'agent', status: 'succeeded', role: 'ADMIN_AGENT' })
        await page.locator('#agent-job-logs').click()
        await page.waitForURL((url) => url.pathname === `/jobs/${jobId}/logs`)
        const summary = (await page.locator('#job-summary').textContent()) ?? ''
        expect(summary).toContain(jobId)
        expect(summary).toContain('role ADMIN_AGENT')
        expect((await page.locator('#agent-output pre').textContent()) ?? '').toContain(input)
        await page.screenshot({ path: screenshotPath('agent-journey-logs.png'), fullPage: true, caret: 'initial' })
        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})
