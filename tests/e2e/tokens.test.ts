/**
 * End to end: an integrator's personal access token, in Debian's chromium on
 * the real server. They open /me from the header, create a token (shown once,
 * with a copy hint), use it from outside the browser with fetch — as curl
 * would — on the JSON API, then revoke it on /me after confirming, and the
 * next API call is refused. Screenshots of /me at 390 and 1440 px go to
 * E2E_SCREENSHOT_DIR; no page scrolls sideways at 390 px.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../helpers/browser'
import { expectNoHorizontalOverflow, expectStatus, pageTools } from '../helpers/e2e'
import { startServer, type RunningServer } from '../helpers/server'

const TEST_TIMEOUT_MS = 60_000
const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))

let server: RunningServer
let browser: Browser
const tools = pageTools(() => server, () => browser)
const { withServerLog, openPage, logIn } = tools

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer({ echo: process.env.E2E_ECHO === 'true' }), launchBrowser()])
}, TEST_TIMEOUT_MS)

afterAll(async () => {
  await tools.closeContexts()
  await browser?.close()
  expect(await server?.stop()).toBe(0)
}, TEST_TIMEOUT_MS)

const isFaviconNoise = (line: string) => line.includes('/favicon.ico')

async function shoot(page: Page, name: string): Promise<void> {
  for (const [width, height] of [
    [390, 844],
    [1440, 900],
  ] as const) {
    await page.setViewportSize({ width, height })
    await expectNoHorizontalOverflow(page)
    // caret: 'initial' — hiding the caret leaves style="" on inputs, which htmx's next swap copies, and the CSP then reports.
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true, caret: 'initial' })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

/** What an integrator's script does: a plain HTTP call with the token, no cookie. */
const api = (path: string, token: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } })

describe('personal access tokens in the browser', () => {
  test(
    'create a token on /me, use it with fetch on the API, revoke it after confirming, and it is refused',
    () =>
      withServerLog(async () => {
        const email = `integrator-${crypto.randomUUID().slice(0, 8)}@example.com`
        const { page, problems, offsite } = await openPage()
        await logIn(page, email)
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

        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'dismissing the confirmation keeps the token working',
    () =>
      withServerLog(async () => {
        const { page } = await openPage()
        await logIn(page, `keeper-${crypto.randomUUID().slice(0, 8)}@example.com`)
        await page.goto(`${server.url}/me`)
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
