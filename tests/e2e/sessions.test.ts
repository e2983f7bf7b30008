/**
 * End to end: the real server (a subprocess on embedded defaults, dev login on)
 * driven by Debian's chromium. A member logs in, asks the council a question
 * through the htmx form, lands on the session page and finds it in the list;
 * the pages raise no console error, exception or CSP violation; /swagger works
 * offline; a blank question is answered in the form without losing what was typed.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectNoProblems, expectStatus, pathOf, screenshotPath, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 60_000

const { server, withServerLog, openPage, signIn } = browserSuite({ timeoutMs: TEST_TIMEOUT_MS })

describe('sessions in the browser', () => {
  test(
    'log in, ask a question through the htmx form, see the session and find it in the list, without page errors',
    () =>
      withServerLog(async () => {
        const { page, problems, offsite } = await signIn(uniqueEmail('member'))

        await page.goto(`${server().url}/sessions/new`)
        // Markup in the question must come back as text, never as HTML.
        const question = `Should we adopt <b>four-day</b> weeks & why? ${crypto.randomUUID()}`
        const form = page.locator('form[hx-post="/sessions"]')
        await form.locator('textarea[name="question"]').fill(question)

        const posted = page.waitForResponse(
          (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions',
        )
        await form.locator('[type="submit"]').click()
        const response = await posted
        await expectStatus(response, 200)
        // The form is submitted by htmx, and the server answers with HX-Location (SPEC: after a mutation, HX-Location for htmx).
        expect(response.request().headers()['hx-request']).toBe('true')
        const location = response.headers()['hx-location']
        expect(location).toMatch(/^\/sessions\/[^/]+$/)
        const sessionId = location!.split('/').pop()!

        await page.waitForURL((url) => url.pathname === `/sessions/${sessionId}`)
        const heading = page.locator('h1', { hasText: 'four-day' })
        await heading.waitFor()
        expect(await heading.textContent()).toContain(question)
        expect(await page.locator('b', { hasText: 'four-day' }).count()).toBe(0)
        await page.screenshot({ path: screenshotPath('session.png'), fullPage: true })

        await page.goto(`${server().url}/sessions`)
        const link = page.locator(`a[href="/sessions/${sessionId}"]`)
        await link.waitFor()
        expect(await link.textContent()).toContain('four-day')
        await page.screenshot({ path: screenshotPath('sessions.png'), fullPage: true })

        // Following the link from the list opens the same session.
        await link.click()
        await page.waitForURL((url) => url.pathname === `/sessions/${sessionId}`)
        await page.locator('h1', { hasText: 'four-day' }).waitFor()

        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'a blank question is answered in the form, keeping what the user typed',
    () =>
      withServerLog(async () => {
        const { page, problems } = await signIn(uniqueEmail('blank'))
        await page.goto(`${server().url}/sessions/new`)
        const form = page.locator('form[hx-post="/sessions"]')

        // Whatever else the form asks for (palette, notes…) must survive the round trip; fill every visible text field.
        const others = form.locator(
          'input:not([type]):visible, input[type="text"]:visible, input[type="email"]:visible, input[type="url"]:visible, textarea:not([name="question"]):visible',
        )
        const typed = new Map<string, string>()
        for (let i = 0; i < (await others.count()); i++) {
          const field = others.nth(i)
          const name = (await field.getAttribute('name')) ?? `#${i}`
          const value = `kept ${name} ${i}`
          await field.fill(value)
          typed.set(name, value)
        }
        // Only spaces and newlines: the browser's `required` lets it through, the server must refuse it.
        const blank = '   \n  '
        await form.locator('textarea[name="question"]').fill(blank)

        const posted = page.waitForResponse(
          (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions',
        )
        await form.locator('[type="submit"]').click()
        const response = await posted
        await expectStatus(response, 422)
        expect(response.headers()['hx-location']).toBeUndefined()

        const alert = page.locator('form[hx-post="/sessions"] [role="alert"]')
        await alert.waitFor()
        expect((await alert.textContent())?.trim().length).toBeGreaterThan(0)
        expect(pathOf(page)).toBe('/sessions/new')
        const after = page.locator('form[hx-post="/sessions"]')
        expect(await after.locator('textarea[name="question"]').inputValue()).toBe(blank)
        for (const [name, value] of typed) expect(await after.locator(`[name="${name}"]`).inputValue()).toBe(value)
        await page.screenshot({ path: screenshotPath('blank-question.png'), fullPage: true })

        // The form still works after the error: a real question now goes through.
        await after.locator('textarea[name="question"]').fill('Is the second attempt accepted?')
        const again = page.waitForResponse(
          (res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions',
        )
        await after.locator('[type="submit"]').click()
        await expectStatus(await again, 200)
        await page.waitForURL((url) => /^\/sessions\/(?!new$)[^/]+$/.test(url.pathname))
        await page.locator('h1', { hasText: 'second attempt' }).waitFor()

        // The refused submission is the only expected error: Chromium logs the 422 load.
        expectNoProblems(problems, /status of 422/)
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    '/swagger renders Swagger UI offline, with the sessions operations listed',
    () =>
      withServerLog(async () => {
        const { page, problems, offsite } = await openPage()
        await page.goto(`${server().url}/swagger`)
        await page.locator('.swagger-ui').first().waitFor()
        // Operations render only once the UI has fetched and parsed /swagger/json.
        await page.getByText('/api/v1/sessions', { exact: false }).first().waitFor({ timeout: 30_000 })
        expect(await page.locator('.opblock').count()).toBeGreaterThan(3)
        await page.screenshot({ path: screenshotPath('swagger.png') })
        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})
