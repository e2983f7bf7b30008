/**
 * End to end, in Debian's chromium on the real server: an admin signs in with
 * the dev login (cookie + CSRF), posts an incident from /admin/incidents (htmx
 * swaps the panel in place), moves it to "identified" with an update, and a
 * member then finds it on /status under "Happening now", with a 90-day bar per
 * component. No page scrolls sideways at 390 px; screenshots go to
 * E2E_SCREENSHOT_DIR.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectStatus, shoot, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 90_000
const ADMIN = uniqueEmail('status-admin')

const { server, withServerLog, signIn } = browserSuite({ env: { ADMIN_EMAILS: ADMIN }, timeoutMs: TEST_TIMEOUT_MS })

describe('incidents on the status page', () => {
  test(
    'an admin posts and updates an incident with htmx; a member reads it on /status',
    () =>
      withServerLog(async () => {
        const admin = await signIn(ADMIN)
        await admin.page.goto(`${server().url}/admin/incidents`)
        // Open with nothing posted yet; a click on its summary opens it otherwise.
        if ((await admin.page.locator('#incident-new').getAttribute('open')) === null) await admin.page.locator('#incident-new summary').click()
        await admin.page.locator('#new-title').fill('Councils start late')
        await admin.page.locator('#new-impact').selectOption('major')
        await admin.page.locator('input[name="components"][value="worker"]').check()
        await admin.page.locator('#new-message').fill('Jobs wait for a worker; we are looking into it.')
        const posted = admin.page.waitForResponse((res) => res.request().method() === 'POST' && res.url().endsWith('/admin/incidents'))
        await admin.page.locator('#incident-new-form button[type="submit"]').click()
        await expectStatus(await posted, 200)
        await admin.page.locator('#incidents-ok').waitFor()
        expect(await admin.page.locator('#incidents-ok').textContent()).toContain('Councils start late')

        const card = admin.page.locator('.incident-admin', { hasText: 'Councils start late' })
        await card.locator('details.update-card summary').click()
        await card.locator('select[name="status"]').selectOption('identified')
        await card.locator('textarea[name="message"]').fill('A worker lost its Redis connection; restarted.')
        const updated = admin.page.waitForResponse((res) => res.request().method() === 'POST' && /\/admin\/incidents\/[0-9a-f-]{36}$/.test(res.url()))
        await card.locator('button[type="submit"]').click()
        await expectStatus(await updated, 200)
        await admin.page.locator('#incidents-ok').waitFor()
        const after = admin.page.locator('.incident-admin', { hasText: 'Councils start late' })
        expect(await after.locator('.badge.state-identified').count()).toBe(1)
        await shoot(admin.page, 'e2e-admin-incidents')
        expect(admin.problems.all()).toEqual([])
        expect(admin.offsite).toEqual([])

        const member = await signIn(uniqueEmail('status-member'))
        await member.page.locator('header a[href="/status"]').click()
        await member.page.waitForURL((url) => url.pathname === '/status')
        const now = member.page.locator('section[aria-labelledby="now-heading"]')
        expect(await now.textContent()).toContain('Councils start late')
        expect(await now.textContent()).toContain('A worker lost its Redis connection')
        expect(await member.page.locator('svg.uptime-bar[role="img"]').count()).toBe(6)
        await shoot(member.page, 'e2e-status')
        expect(member.problems.all()).toEqual([])
        expect(member.offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})
