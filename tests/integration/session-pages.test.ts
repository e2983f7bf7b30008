/**
 * The session pages through app.handle: refusals of the new-session form come
 * back as the form with the text and the message beside the field (422, 429
 * rate limit and budget, CSRF), never as an error page; error pages and /login
 * know who is signed in; the list searches, filters, refreshes running rows
 * and deletes; a failed session says what failed and offers a re-run only when
 * one can succeed; the finished page draws the leaderboard; the page's own
 * event stream carries rendered HTML.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { newId } from '../../db/client'
import { buildTestApp, type TestApp } from '../helpers/app'
import { readSse } from '../helpers/sse'
import { COOKIE_NAME, form, FORM } from './auth-support'
import { idle, startCouncil } from './council-support'
import { freshUser } from './support'

const HTMX = { 'hx-request': 'true' }
const page = async (t: TestApp, path: string, user: string, headers: Record<string, string> = {}) => {
  const res = await t.call('GET', path, { user, headers: { accept: 'text/html', ...headers } })
  return { status: res.status, html: await res.text(), headers: res.headers }
}
const post = async (t: TestApp, path: string, user: string, fields: Record<string, string>, headers: Record<string, string> = HTMX) => {
  const res = await t.call('POST', path, { user, body: form(fields), headers: { ...FORM, accept: 'text/html', ...headers } })
  return { status: res.status, html: await res.text(), headers: res.headers }
}

describe('session pages', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ QUESTION_MAX_CHARS: '100', RATE_LIMITS: 'write=3/1m', EVENTS_DELTA_MS: '20' })
  })
  afterAll(() => t.close())

  describe('the new-session form keeps what was typed', () => {
    test('too long: 422, the form again with the question, the message beside the field and the counter', async () => {
      const question = `Too long <b>${'x'.repeat(120)}</b>`
      const res = await post(t, '/sessions', freshUser('long'), { question, run: 'true' })
      expect(res.status).toBe(422)
      expect(res.html).toStartWith('<form id="new-session"')
      expect(res.html).toContain('id="question-error"')
      expect(res.html).toContain('the limit is 100')
      expect(res.html).toContain(Bun.escapeHTML(question))
      expect(res.html).not.toContain('<b>x')
      expect(res.html).toContain(`${question.length} / 100 characters`)
      expect(res.html).toContain('name="run" value="true" checked')
    })

    test('without htmx the refusal is the whole page with the form, not an error page', async () => {
      const res = await post(t, '/sessions', freshUser('plain'), { question: '   ' }, {})
      expect(res.status).toBe(422)
      expect(res.html).toStartWith('<!doctype html>')
      expect(res.html).toContain('<form id="new-session"')
      expect(res.html).toContain('id="question-error"')
    })

    test('rate limited (429): the form with the question and the wait, Retry-After set', async () => {
      const user = freshUser('limited')
      for (let i = 0; i < 3; i++) expect((await post(t, '/sessions', user, { question: `Question ${i}` })).status).toBe(200)
      const res = await post(t, '/sessions', user, { question: 'The fourth question is kept', run: 'true' })
      expect(res.status).toBe(429)
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(res.html).toContain('id="form-error"')
      expect(res.html).toMatch(/Try again in \d+ s/)
      expect(res.html).toContain('untick')
      expect(res.html).toContain('The fourth question is kept</textarea>')
    })

    test('a forged (CSRF-less) cookie submission comes back as the form too, with the text', async () => {
      const email = freshUser('cookie')
      const login = await t.call('POST', '/auth/dev-login', { body: form({ email }), headers: FORM })
      const cookie = login.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE_NAME}=`))!.split(';')[0]!
      const res = await t.call('POST', '/sessions', { body: form({ question: 'Kept despite CSRF' }), headers: { ...FORM, ...HTMX, cookie } })
      expect(res.status).toBe(403)
      const html = await res.text()
      expect(html).toContain('Kept despite CSRF</textarea>')
      expect(html).toContain('CSRF')
    })
  })

  test('a budget refusal after the session was created keeps it: the form offers to run that same session', async () => {
    const poor = await buildTestApp({ DAILY_TOKEN_BUDGET: '10' })
    try {
      const user = freshUser('poor')
      const first = await post(poor, '/sessions', user, { question: 'Too costly for today', run: 'true' })
      expect(first.status).toBe(429)
      expect(first.html).toContain('budget')
      const reuse = /name="reuse" value="([^"]+)"/.exec(first.html)?.[1]
      expect(reuse).toBeTruthy()
      expect(first.html).toContain('Too costly for today</textarea>')
      const again = await post(poor, '/sessions', user, { question: 'Too costly for today', run: 'true', reuse: reuse! })
      expect(again.status).toBe(429)
      expect(/name="reuse" value="([^"]+)"/.exec(again.html)?.[1]).toBe(reuse)
      const list = (await poor.json('GET', '/api/v1/sessions', { user })).body
      expect(list.items).toHaveLength(1) // no duplicate session
    } finally {
      await poor.close()
    }
  })

  test('a refused run or cancel from the live section answers with the section and the message, not an error box', async () => {
    const limited = await buildTestApp({ RATE_LIMITS: 'council-run=1/1m' })
    try {
      const user = freshUser('runner')
      const { sessionId, jobId } = await startCouncil(limited, user)
      await idle(limited)
      const run = await post(limited, `/sessions/${sessionId}/run`, user, {})
      expect(run.status).toBe(429)
      expect(run.html).toStartWith('<section id="progress"')
      expect(run.html).toContain('Rate limit')
      const cancel = await post(limited, `/jobs/${jobId}/cancel`, user, {})
      expect(cancel.status).toBe(409)
      expect(cancel.html).toStartWith('<section id="progress"')
      expect(cancel.html).toContain('already')
    } finally {
      await limited.close()
    }
  })

  test('error pages and /login show the signed-in person, their nav and a logout', async () => {
    const user = freshUser('nav')
    for (const [path, status] of [
      [`/sessions/${crypto.randomUUID()}`, 404],
      ['/no/such/page', 404],
      ['/admin', 403],
    ] as const) {
      const res = await page(t, path, user)
      expect(res.status).toBe(status)
      expect(res.html).toContain(user)
      expect(res.html).toContain('href="/sessions"')
      expect(res.html).toContain('Log out')
    }
    const anonymous = await t.call('GET', '/no/such/page', { headers: { accept: 'text/html' } })
    expect(await anonymous.text()).toContain('href="/login"')
    const login = await page(t, '/login', user)
    expect(login.html).toContain('id="signed-in"')
    expect(login.html).toContain(user)
  })

  test('the list: search (literal, any case), status filter, tokens and cost, and one refresh for running rows', async () => {
    const user = freshUser('lister')
    const make = async (question: string) => (await t.json('POST', '/api/v1/sessions', { user, body: { question } })).body.id as string
    const a = await make('Rotas: 50% of_staff')
    await make('Something else')
    const list = await page(t, '/sessions?q=50%25%20OF_', user)
    expect(list.html).toContain(`session-row-${a}`)
    expect(list.html.match(/id="session-row-/g)).toHaveLength(1)
    expect((await page(t, '/sessions?status=failed', user)).html).toContain('No session matches')
    expect((await page(t, '/sessions?status=bogus', user)).status).toBe(422)
    const { sessionId } = await startCouncil(t, user, 'Running now')
    const running = await page(t, '/sessions', user)
    expect(running.html).toContain(`hx-get="/sessions/statuses?ids=${sessionId}"`)
    await idle(t)
    const refresh = await page(t, `/sessions/statuses?ids=${sessionId},${a},not-an-id`, user, HTMX)
    expect(refresh.html).toContain(`id="status-${sessionId}" hx-swap-oob="true"`)
    expect(refresh.html).toContain('succeeded')
    expect(refresh.html).toContain('<div id="live-statuses"></div>') // nothing left running: the refresh stops
    expect((await page(t, `/sessions/statuses?ids=${sessionId}`, freshUser('stranger'), HTMX)).html).not.toContain('status-')
  })

  test('delete from the list (htmx): the row goes; a stranger gets 404', async () => {
    const user = freshUser('deleter')
    const id = (await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Delete me' } })).body.id as string
    expect((await post(t, `/sessions/${id}/delete`, freshUser('stranger'), {})).status).toBe(404)
    const res = await post(t, `/sessions/${id}/delete`, user, {})
    expect(res.status).toBe(200)
    expect(res.html).toBe('')
    expect((await t.json('GET', `/api/v1/sessions/${id}`, { user })).status).toBe(404)
  })

  test('a finished page: the SVG leaderboard, its explanation and the reviewers’ agreement; results carry W', async () => {
    const user = freshUser('chart')
    const { sessionId } = await startCouncil(t, user)
    await idle(t)
    const html = (await page(t, `/sessions/${sessionId}`, user)).html
    expect(html).toContain('<svg class="chart"')
    expect(html.match(/<g class="bar/g)).toHaveLength(3)
    expect(html).toContain('id="leaderboard-explained"')
    expect(html).toContain('Kendall')
    expect(html).not.toContain('data-stream=')
    const results = (await t.json('GET', `/api/v1/sessions/${sessionId}/results`, { user })).body
    expect(results.agreement).toMatchObject({ reviewers: 3, items: 3 })
    expect(results.agreement.w).toBeGreaterThanOrEqual(0)
  })

  test('the page’s own stream adds rendered drafts, rankings and, at done, the finished section', async () => {
    const user = freshUser('stream')
    const { sessionId, jobId } = await startCouncil(t, user)
    const controller = new AbortController()
    const res = await t.app.handle(new Request(`http://localhost/sessions/${sessionId}/events?job=${jobId}`, { headers: { 'x-user-id': user }, signal: controller.signal }))
    expect(res.status).toBe(200)
    const events = await readSse(res, controller).done()
    const drafts = events.filter((e) => e.event === 'member' && e.data.stage === 'draft' && e.data.state === 'succeeded')
    expect(drafts).toHaveLength(3)
    for (const draft of drafts) expect(draft.data.html).toContain('<details class="draft" open')
    const reviews = events.filter((e) => e.event === 'member' && e.data.stage === 'review' && e.data.state === 'succeeded')
    for (const review of reviews) expect(review.data.html).toContain('Ranked:')
    expect(events.at(-1)!.data.html).toStartWith('<section id="progress"')
    expect(events.at(-1)!.data.html).toContain('id="synthesis"')
    const other = await startCouncil(t, user, 'Another')
    expect((await t.call('GET', `/sessions/${sessionId}/events?job=${other.jobId}`, { user })).status).toBe(404)
    expect((await t.call('GET', `/sessions/${sessionId}/events?job=${jobId}`, { user: freshUser('stranger') })).status).toBe(404)
    await idle(t)
  })
})

describe('a failed session says what failed, and offers a re-run only when it can help', () => {
  test('every member refused for good (permanent): no re-run', async () => {
    const t = await buildTestApp({ LLM_OFFLINE_FAIL_AGENTS: 'analyst:bad key,skeptic:bad key,pragmatist:bad key' })
    try {
      const user = freshUser('permanent')
      const { sessionId, jobId } = await startCouncil(t, user)
      await idle(t)
      expect((await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body.output).toEqual({ failure: 'permanent' })
      const html = (await page(t, `/sessions/${sessionId}`, user)).html
      expect(html).toContain('id="job-outcome"')
      expect(html).toContain('cannot succeed as it is')
      expect(html).not.toContain('id="run-button"')
      expect(html).not.toContain('waiting for a worker')
    } finally {
      await t.close()
    }
  })

  test('a deleted palette: said in words, no re-run', async () => {
    const t = await buildTestApp()
    try {
      const user = freshUser('palette')
      // Stored directly: creating a session on a missing palette is refused at create time; this one's palette went later.
      const me = (await t.json('GET', '/api/v1/me', { user })).body
      const id = newId()
      const now = new Date()
      await t.deps.stores.sessions.insert({
        ...{ id, userId: me.id, question: 'On a palette that goes away', paletteId: 'no-such-palette', status: 'created', stage: null, partial: false },
        ...{ tokensIn: 0, tokensOut: 0, costMicroUsd: 0, error: null, webSearch: false, createdAt: now, updatedAt: now, deletedAt: null },
      })
      const html = (await page(t, `/sessions/${id}`, user)).html
      expect(html).toContain('“no-such-palette” no longer exists')
      expect(html).not.toContain('id="run-button"')
    } finally {
      await t.close()
    }
  })

  test('providers failing on every attempt (retryable): explained, and a re-run offered', async () => {
    const t = await buildTestApp({ JOBS_ATTEMPTS: '1', LLM_OFFLINE_FAIL_AGENTS: 'skeptic:down,pragmatist:down' })
    try {
      const user = freshUser('retryable')
      const { sessionId, jobId } = await startCouncil(t, user)
      await idle(t)
      // Offline failures are permanent by nature; a provider outage is not. Mark it as the executor would.
      await t.deps.stores.jobs.update(jobId, { output: { failure: 'retryable' } })
      const html = (await page(t, `/sessions/${sessionId}`, user)).html
      expect(html).toContain('usually temporary')
      expect(html).toContain('id="run-button"')
    } finally {
      await t.close()
    }
  })
})
