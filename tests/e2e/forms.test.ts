/**
 * End to end: forms that never lose input, and the sessions list, in chromium
 * on the real server (question limit 300 characters, one council run a minute).
 * An over-long question and a rate-limited submission both come back in the
 * form with the question intact and the message beside it (the counter shows
 * the limit before it is reached); cancelling a council asks first; the list
 * searches questions, filters by status, deletes after a confirmation, and its
 * running row turns succeeded without a reload.
 */
import { describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { browserSuite, expectNoProblems, expectStatus, screenshotPath, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 90_000

const { server, withServerLog, openPage, logIn, signIn } = browserSuite({ env: { QUESTION_MAX_CHARS: '300', RATE_LIMITS: 'council-run=1/1m', LLM_OFFLINE_LATENCY_MS: '1500' }, timeoutMs: TEST_TIMEOUT_MS })

/** Chromium logs refused loads (4xx) as console errors; they are the point of these tests. */
const REFUSED_LOADS = /status of (409|422|429)/

async function submit(page: Page, question: string, run: boolean) {
  const form = page.locator('form#new-session')
  await form.locator('textarea[name="question"]').fill(question)
  await form.locator('input[name="run"]').setChecked(run)
  const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions')
  await form.locator('[type="submit"]').click()
  return posted
}

describe('forms keep what was typed', () => {
  test('an over-long question: the counter warns first, then the refusal sits beside the field and the text stays', () =>
    withServerLog(async () => {
      const { page, problems } = await signIn(uniqueEmail('long'))
      await page.goto(`${server().url}/sessions/new`)
      const counter = page.locator('#question-count')
      expect(await counter.textContent()).toBe('0 / 300 characters')
      const question = `${'Is this question far too long for the council? '.repeat(8)}end`
      await page.locator('textarea[name="question"]').fill(question.slice(0, 280))
      expect(await counter.getAttribute('class')).toContain('near')
      const response = await submit(page, question, true)
      await expectStatus(response, 422)
      const error = page.locator('form#new-session #question-error')
      await error.waitFor()
      expect(await error.textContent()).toContain('the limit is 300')
      expect(await page.locator('textarea[name="question"]').inputValue()).toBe(question)
      expect(await page.locator('textarea[name="question"]').getAttribute('aria-describedby')).toContain('question-error')
      expect(await counter.textContent()).toContain('over the limit')
      expect(new URL(page.url()).pathname).toBe('/sessions/new')
      await page.screenshot({ path: screenshotPath('form-too-long.png'), fullPage: true })
      expectNoProblems(problems, REFUSED_LOADS)
    }),
  TEST_TIMEOUT_MS)

  test('a rate-limited submission comes back with the question and the wait', () =>
    withServerLog(async () => {
      const { page, problems } = await signIn(uniqueEmail('limited'))
      await page.goto(`${server().url}/sessions/new`)
      await expectStatus(await submit(page, 'The first question runs.', true), 200)
      await page.waitForURL((url) => /^\/sessions\/[0-9a-f-]{36}$/.test(url.pathname))

      await page.goto(`${server().url}/sessions/new`)
      const question = 'The second question, within the minute, must be refused but kept.'
      const response = await submit(page, question, true)
      await expectStatus(response, 429)
      expect(Number(response.headers()['retry-after'])).toBeGreaterThan(0)
      const alert = page.locator('form#new-session #form-error')
      await alert.waitFor()
      expect(await alert.textContent()).toMatch(/Try again in \d+ s/)
      expect(await page.locator('textarea[name="question"]').inputValue()).toBe(question)
      await page.screenshot({ path: screenshotPath('form-rate-limited.png'), fullPage: true })
      expectNoProblems(problems, REFUSED_LOADS)
    }),
  TEST_TIMEOUT_MS)

  test('cancel asks for a confirmation: dismissed, the council runs on; accepted, it is cancelled and offers a re-run', () =>
    withServerLog(async () => {
      const { page, problems } = await signIn(uniqueEmail('canceller'))
      await page.goto(`${server().url}/sessions/new`)
      await expectStatus(await submit(page, 'Run, then be cancelled.', true), 200)
      await page.waitForURL((url) => /^\/sessions\/[0-9a-f-]{36}$/.test(url.pathname))
      const dialogs: string[] = []
      page.once('dialog', (dialog) => {
        dialogs.push(dialog.message())
        void dialog.dismiss()
      })
      await page.locator('#cancel-button').click()
      await page.waitForTimeout(300)
      expect(dialogs).toHaveLength(1)
      expect(dialogs[0]).toContain('Cancel this council?')
      expect(await page.locator('#job-status').textContent()).not.toBe('cancelled')
      page.once('dialog', (dialog) => void dialog.accept())
      await page.locator('#cancel-button').click()
      await page.locator('#job-status', { hasText: 'cancelled' }).waitFor()
      expect(await page.locator('#job-outcome').textContent()).toContain('You cancelled this council')
      expect(await page.locator('#run-button').count()).toBe(1)
      expectNoProblems(problems, REFUSED_LOADS)
    }),
  TEST_TIMEOUT_MS)
})

describe('the sessions list', () => {
  test('search, status filter, a live badge for the running council, and delete after a confirmation', () =>
    withServerLog(async () => {
      const { page, problems } = await openPage()
      const user = uniqueEmail('lister')
      await logIn(page, user)
      const headers = { 'x-user-id': user, 'content-type': 'application/json' }
      const make = async (question: string) =>
        ((await (await fetch(`${server().url}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ question }) })).json()) as { id: string }).id
      const quiet = await make('A 100% plain_question about rotas')
      const other = await make('Something else entirely')
      const running = await make('The one that runs while the list is open')
      expect((await fetch(`${server().url}/api/v1/sessions/${running}/run`, { method: 'POST', headers })).status).toBe(202)

      await page.goto(`${server().url}/sessions`)
      const badge = page.locator(`#status-${running} .badge`)
      expect(['queued', 'running']).toContain((await badge.textContent())!)
      await page.locator(`#status-${running} .badge`, { hasText: 'succeeded' }).waitFor({ timeout: 30_000 })
      expect(await page.locator(`#tokens-${running}`).textContent()).not.toBe('0')

      // Search is literal (% and _ are not wildcards) and any case.
      await page.locator('#q').fill('100% PLAIN_')
      await Promise.all([page.waitForURL((url) => url.searchParams.get('q') === '100% PLAIN_'), page.locator('#session-filters [type="submit"]').click()])
      expect(await page.locator('#session-rows tr[id^="session-row-"]').count()).toBe(1)
      expect(await page.locator(`#session-row-${quiet}`).count()).toBe(1)
      await page.goto(`${server().url}/sessions?status=succeeded`)
      expect(await page.locator('#session-rows tr[id^="session-row-"]').count()).toBe(1)
      expect(await page.locator(`#session-row-${running}`).count()).toBe(1)

      await page.goto(`${server().url}/sessions`)
      const dialogs: string[] = []
      page.once('dialog', (dialog) => {
        dialogs.push(dialog.message())
        void dialog.accept()
      })
      await page.locator(`#session-row-${other} button`, { hasText: 'Delete' }).click()
      await page.locator(`#session-row-${other}`).waitFor({ state: 'detached' })
      expect(dialogs[0]).toContain('Delete this session?')
      expect((await fetch(`${server().url}/api/v1/sessions/${other}`, { headers })).status).toBe(404)
      await page.screenshot({ path: screenshotPath('sessions-list.png'), fullPage: true })
      expectNoProblems(problems, REFUSED_LOADS)
    }),
  TEST_TIMEOUT_MS)
})
