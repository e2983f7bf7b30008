/**
 * End to end: palettes unlocked through payments, in Debian's chromium on the
 * real server (embedded defaults, development: checkout hands out the dev proof).
 * A member opens /palettes, unlocks the priced "Expert panel" — Unlock, then
 * "Confirm payment (development proof)" — and sees the card turn unlocked in
 * place (no reload), then asks the council with it from the card's link and
 * reads the answer of all its members. An admin prices a palette on
 * /admin/palettes. Screenshots of /palettes at 390 and 1440 px go to
 * E2E_SCREENSHOT_DIR; no page scrolls sideways at 390 px.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectNoProblems, expectStatus, shoot, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 90_000
const ADMIN = uniqueEmail('palette-admin')

const { server, withServerLog, signIn } = browserSuite({ env: { ADMIN_EMAILS: ADMIN, LLM_OFFLINE_LATENCY_MS: '50' }, timeoutMs: TEST_TIMEOUT_MS })

describe('palettes in the browser', () => {
  test(
    'a member unlocks the Expert panel with the dev proof, sees it unlocked without a reload, and runs a council with it',
    () =>
      withServerLog(async () => {
        const { page, problems, offsite } = await signIn(uniqueEmail('buyer'))
        await page.locator('nav a[href="/palettes"]').click()
        await page.waitForURL((url) => url.pathname === '/palettes')

        const card = page.locator('#palette-expert-panel')
        expect(await card.getAttribute('data-state')).toBe('locked')
        expect(await card.locator('.members li').count()).toBe(8)
        expect(await card.textContent()).toContain('$19.00')
        expect(await page.locator('#palette-default').getAttribute('data-state')).toBe('unlocked')
        await shoot(page, 'palettes-locked')

        // A marker in the page's memory survives only if the page is never reloaded.
        await page.evaluate(() => Object.assign(window, { notReloaded: true }))
        const checkout = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/palettes/expert-panel/checkout'))
        await card.locator('button.unlock').click()
        await expectStatus(await checkout, 200)
        await page.locator('#palette-expert-panel[data-state="pending"]').waitFor()
        expect(await page.locator('#palette-expert-panel').textContent()).toContain('Payment of $19.00 started')
        await shoot(page, 'palettes-pending')

        const confirm = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/palettes/expert-panel/confirm'))
        await page.locator('#palette-expert-panel button.confirm-payment').click()
        await expectStatus(await confirm, 200)
        await page.locator('#palette-expert-panel[data-state="unlocked"]').waitFor()
        expect(await page.locator('#palette-expert-panel').textContent()).toContain('Unlocked. You can now run councils with this palette.')
        expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
        expect(new URL(page.url()).pathname).toBe('/palettes')
        await shoot(page, 'palettes-unlocked')

        // The unlocked card leads to the form with the palette chosen; the council runs with all its members.
        await page.locator('#palette-expert-panel a', { hasText: 'Ask with this palette' }).click()
        await page.waitForURL((url) => url.pathname === '/sessions/new')
        expect(await page.locator('select[name="palette_id"]').inputValue()).toBe('expert-panel')
        await page.locator('textarea[name="question"]').fill('Should we open a second office abroad next year?')
        await page.locator('form#new-session [type="submit"]').click()
        await page.waitForURL((url) => /^\/sessions\/(?!new$)[^/]+$/.test(url.pathname))
        await page.locator('#synthesis').waitFor({ timeout: 60_000 })
        expect(await page.locator('#drafts details').count()).toBe(8)
        expect(await page.locator('main').textContent()).toContain('palette expert-panel')

        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'locked palettes are shown on the session form, not selectable, with the way to unlock them',
    () =>
      withServerLog(async () => {
        const { page, problems } = await signIn(uniqueEmail('newcomer'))
        await page.goto(`${server().url}/sessions/new`)
        expect(await page.locator('option[value="expert-panel"]').isDisabled()).toBe(true)
        expect(await page.locator('select[name="palette_id"]').inputValue()).toBe('default')
        await page.locator('#locked-palettes a[href="/palettes"]').click()
        await page.waitForURL((url) => url.pathname === '/palettes')
        expectNoProblems(problems)
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'an admin prices a palette on /admin/palettes, in place',
    () =>
      withServerLog(async () => {
        const { page, problems } = await signIn(ADMIN)
        await page.goto(`${server().url}/admin`)
        await page.locator('#admin-links a[href="/admin/palettes"]').click()
        await page.waitForURL((url) => url.pathname === '/admin/palettes')
        const strategy = page.locator('#admin-palette-strategy')
        await strategy.locator('summary').click()
        await strategy.locator('input[name="price"]').fill('12.50')
        const saved = page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/admin/palettes/strategy'))
        await strategy.locator('button[type="submit"]').click()
        await expectStatus(await saved, 200)
        await page.locator('#palette-admin-done').waitFor()
        expect(await page.locator('#admin-palette-strategy summary').textContent()).toContain('$12.50')
        await shoot(page, 'admin-palettes')
        expectNoProblems(problems)
      }),
    TEST_TIMEOUT_MS,
  )
})
