/**
 * End to end: the real server (embedded defaults, dev login, ADMIN_EMAILS set)
 * driven by Debian's chromium. An admin grants ADMIN_AGENT to a member through
 * the htmx form on /admin/rbac; the member's agent-proxy call, refused before,
 * then succeeds; /admin/audit shows both the binding and the agent call with the
 * request ids their responses carried, and following a request id filters to it.
 */
import { describe, expect, test } from 'bun:test'
import { browserSuite, expectNoProblems, expectStatus, pathOf, screenshotPath, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 90_000
const ADMIN = 'e2e-admin@example.com'
const MEMBER = 'member@example.com'

const { server, withServerLog, signIn } = browserSuite({ env: { ADMIN_EMAILS: ADMIN }, timeoutMs: TEST_TIMEOUT_MS })

/** The member calls the agent proxy directly; development mode trusts X-User-Id. */
const runAgent = (input: string) =>
  fetch(`${server().url}/api/v1/agents/analyst/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': MEMBER },
    body: JSON.stringify({ input }),
  })

describe('RBAC administration in the browser', () => {
  test(
    'an admin grants ADMIN_AGENT on /admin/rbac; the member can then call an agent; /admin/audit shows both with their request ids',
    () =>
      withServerLog(async () => {
        const before = await runAgent('Before the grant')
        expect(before.status).toBe(403)
        expect(((await before.json()) as { error: { code: string } }).error.code).toBe('forbidden')

        const { page, problems, offsite } = await signIn(ADMIN)
        await page.goto(`${server().url}/admin`)
        await page.locator('#admin-links a[href="/admin/rbac"]').click()
        await page.waitForURL((url) => url.pathname === '/admin/rbac')

        // Grant through the htmx form; the panel comes back in place with the new binding.
        const form = page.locator('form#rbac-add')
        await form.locator('input[name="email"]').fill(MEMBER)
        await form.locator('select[name="role"]').selectOption('ADMIN_AGENT')
        const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/admin/rbac/bindings')
        await form.locator('[type="submit"]').click()
        const grant = await posted
        await expectStatus(grant, 200)
        expect(grant.request().headers()['hx-request']).toBe('true')
        const grantRequestId = grant.headers()['x-request-id']!
        expect(grantRequestId).toBeTruthy()
        await page.locator('#rbac-ok', { hasText: `Granted ADMIN_AGENT to ${MEMBER}.` }).waitFor()
        const row = page.locator('#bindings-table tr', { hasText: MEMBER })
        await row.waitFor()
        expect(await row.textContent()).toContain('ADMIN_AGENT')
        expect(pathOf(page)).toBe('/admin/rbac')

        // A second grant of the same role is refused in place (htmx 4 swaps the 409 panel).
        await page.locator('form#rbac-add input[name="email"]').fill(MEMBER)
        await page.locator('form#rbac-add select[name="role"]').selectOption('ADMIN_AGENT')
        const refusedResponse = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/admin/rbac/bindings')
        await page.locator('form#rbac-add [type="submit"]').click()
        await expectStatus(await refusedResponse, 409)
        await page.locator('#rbac-error', { hasText: 'already holds the role' }).waitFor()
        expect(await page.locator('form#rbac-add input[name="email"]').inputValue()).toBe(MEMBER)
        await page.screenshot({ path: screenshotPath('admin-rbac.png'), fullPage: true })

        // The grant applies at once.
        const after = await runAgent('After the grant')
        expect(after.status).toBe(202)
        const runRequestId = after.headers.get('x-request-id')!
        expect(runRequestId).toBeTruthy()

        // The trail shows both, with the request ids their responses carried.
        await page.goto(`${server().url}/admin/audit`)
        const bindingRow = page.locator(`#audit-rows tr[data-action="role_binding.create"][data-request-id="${grantRequestId}"]`)
        await bindingRow.waitFor()
        expect(await bindingRow.textContent()).toContain(ADMIN)
        const callRow = page.locator(`#audit-rows tr[data-action="agent.call"][data-request-id="${runRequestId}"]`)
        await callRow.waitFor()
        expect(await callRow.textContent()).toContain(MEMBER)
        expect(await callRow.textContent()).toContain('ADMIN_AGENT')
        // At 1280 px the table fits its card: no sideways scroll inside its box; dates one line with their zone; ids shortened with the full one in a tooltip.
        const [tableWidth, boxWidth] = await page.evaluate(() => {
          const table = document.querySelector('#audit-table')!
          return [table.scrollWidth, table.closest('.table-scroll')!.clientWidth]
        })
        expect(tableWidth).toBeLessThanOrEqual(boxWidth)
        expect(await bindingRow.locator('time').first().textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/)
        expect(await bindingRow.locator(`code[title="${grantRequestId}"]`).textContent()).toBe(`…${grantRequestId.slice(-8)}`)
        await page.screenshot({ path: screenshotPath('admin-audit.png'), fullPage: true })

        // The htmx filter narrows the results to one request.
        await page.locator('#audit-filter input[name="request_id"]').fill(runRequestId)
        const filtered = page.waitForResponse((res) => new URL(res.url()).pathname === '/admin/audit' && res.request().headers()['hx-request'] === 'true')
        await page.locator('#audit-filter [type="submit"]').click()
        await expectStatus(await filtered, 200)
        await page.waitForFunction(
          (id) => {
            const rows = Array.from(document.querySelectorAll('#audit-rows tr[data-event-id]'))
            return rows.length > 0 && rows.every((tr) => (tr as HTMLElement).dataset.requestId === id)
          },
          runRequestId,
        )
        expect(await page.locator('#audit-rows tr[data-action="agent.call"]').count()).toBe(1)
        expect(await page.locator('#audit-rows tr[data-action="role_binding.create"]').count()).toBe(0)

        // Following the binding's request id opens every event of that request.
        await page.goto(`${server().url}/admin/audit`)
        await page.locator(`#audit-rows tr[data-request-id="${grantRequestId}"] a[href*="request_id="]`).first().click()
        await page.waitForURL((url) => url.searchParams.get('request_id') === grantRequestId)
        await page.locator('#audit-rows tr[data-action="role_binding.create"]').waitFor()
        expect(await page.locator('#audit-rows tr[data-action="agent.call"]').count()).toBe(0)

        // The 409 above is the one expected error: Chromium logs the refused load.
        expectNoProblems(problems, /status of 409/)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'a member is refused the admin pages',
    () =>
      withServerLog(async () => {
        const { page } = await signIn(uniqueEmail('plain'))
        expect(await page.locator('header nav a[href="/admin"]').count()).toBe(0)
        for (const path of ['/admin', '/admin/rbac', '/admin/audit']) {
          const response = await page.goto(`${server().url}${path}`)
          expect(response?.status()).toBe(403)
        }
      }),
    TEST_TIMEOUT_MS,
  )
})

