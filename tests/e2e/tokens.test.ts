/**
 * End to end: an integrator's personal access token, in Debian's chromium on
 * the real server. They open /me from the header, create a token (shown once,
 * with a copy hint), use it from outside the browser with fetch — as curl
 * would — on the JSON API, then revoke it on /me after confirming, and the
 * next API call is refused. Screenshots of /me at 390 and 1440 px go to
 * E2E_SCREENSHOT_DIR; no page scrolls sideways at 390 px.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectNoProblems, expectStatus, shoot, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 60_000

const { server, withServerLog, signIn } = browserSuite({ timeoutMs: TEST_TIMEOUT_MS })

/** What an integrator's script does: a plain HTTP call with the token, no cookie. */
const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${server().url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } })

describe('personal access tokens in the browser', () => {
  test(
    'create a token on /me, use it with fetch on the API, revoke it after confirming, and it is refused',
    () =>
      withServerLog(async () => {
        const email = uniqueEmail('integrator')
        const { page, problems, offsite } = await signIn(email)
        await page.locator('header a[href="/me"]').click()
        await page.waitForURL((url) => url.pathname === '/me')
        await page.locator('#no-tokens').waitFor()
        expect(await page.locator('#identity').textContent()).toContain(email)

        await page.locator('#token-name').fill('Nightly export')
        await page.locator('#token-expiry').selectOption('30')
        const created = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/me/tokens'))
        await page.locator('#new-token-form button[type="submit"]').click()
        await expectStatus(await created, 200)
        const field = page.locator('#new-token')
        await field.waitFor()
        const token = await field.inputValue()
        expect(token).toMatch(/^acpat_[A-Za-z0-9_-]{43}$/)
        expect(await page.locator('#new-token-hint').textContent()).toContain('copy')
        expect(await page.locator('#tokens-table tr[data-token-id]').count()).toBe(1)
        await shoot(page, 'me-token-created')

        // Outside the browser, as a script would: the token is the whole credential.
        const me = await api('/api/v1/me', token)
        expect(me.status).toBe(200)
        expect((await me.json()).email).toBe(email)
        const session = await api('/api/v1/sessions', token, { method: 'POST', body: JSON.stringify({ question: 'Filed by a script?' }) })
        expect(session.status).toBe(201)

        // Shown once: reloading /me shows the token's name and prefix, never the token.
        await page.reload()
        expect(await page.content()).not.toContain(token)
        const row = page.locator('#tokens-table tr[data-token-id]')
        expect(await row.textContent()).toContain('Nightly export')
        expect(await row.textContent()).not.toContain('never')
        await shoot(page, 'me')

        const asked: string[] = []
        page.once('dialog', (dialog) => {
          asked.push(dialog.message())
          void dialog.accept()
        })
        const revoked = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().includes('/revoke'))
        await row.locator('button', { hasText: 'Revoke' }).click()
        await expectStatus(await revoked, 200)
        expect(asked[0]).toContain('Nightly export')
        await page.locator('#tokens-done').waitFor()
        expect(await page.locator('#tokens-table tr[data-token-id]').count()).toBe(0)
        expect((await api('/api/v1/me', token)).status).toBe(401)

        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'dismissing the confirmation keeps the token working',
    () =>
      withServerLog(async () => {
        const { page } = await signIn(uniqueEmail('keeper'))
        await page.goto(`${server().url}/me`)
        await page.locator('#token-name').fill('Keep me')
        await page.locator('#new-token-form button[type="submit"]').click()
        const token = await page.locator('#new-token').inputValue()
        page.once('dialog', (dialog) => void dialog.dismiss())
        await page.locator('#tokens-table button', { hasText: 'Revoke' }).click()
        await page.waitForTimeout(300)
        expect(await page.locator('#tokens-table tr[data-token-id]').count()).toBe(1)
        expect((await api('/api/v1/me', token)).status).toBe(200)
      }),
    TEST_TIMEOUT_MS,
  )
})
