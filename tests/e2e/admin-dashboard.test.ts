/**
 * End to end: the /admin dashboard in chromium on the real server. Thirty days
 * of usage are fed into its database through the live recorder, a council runs
 * through the API, and an admin opens /admin at 1440 px and at 390 px: every
 * chart is an image with a title, nothing scrolls sideways, the range links
 * swap the dashboard through htmx and update the URL, and a chart's table
 * opens. A member gets 403. Screenshots go to E2E_SCREENSHOT_DIR.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { createDatabase } from '../../db/client'
import { createLogger } from '../../plugins/logging/logger'
import { createUsageRecorder } from '../../src/modules/usage/recorder'
import { createStores } from '../../src/stores'
import { launchBrowser } from '../helpers/browser'
import { expectNoHorizontalOverflow, expectStatus, pageTools } from '../helpers/e2e'
import { startServer, type RunningServer } from '../helpers/server'

const TEST_TIMEOUT_MS = 120_000
const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))
const ADMIN = 'e2e-dashboard-admin@example.com'
const MEMBER = 'e2e-dashboard-member@example.com'
const DAY = 86_400_000

let server: RunningServer
let browser: Browser
const tools = pageTools(() => server, () => browser)
const { withServerLog, openPage, logIn } = tools

/** Thirty days of calls, jobs and requests from a dozen people, written as the live path writes them. */
async function seedUsage(dataDir: string) {
  const db = createDatabase({ url: `file:${dataDir}/council.db` })
  const stores = createStores(db)
  const logger = createLogger({ level: 'error' })
  const models = ['offline-small', 'gpt-4o-mini', 'claude-3-haiku']
  const stages = ['draft', 'review', 'synthesis']
  try {
    for (let d = 29; d >= 1; d--) {
      const recorder = createUsageRecorder({ store: stores.usage, logger, flushEveryMs: 60_000, now: () => new Date(Date.now() - d * DAY) })
      const people = 4 + ((d * 7) % 9)
      for (let u = 0; u < people; u++) {
        const userId = `seed-user-${u}`
        const role = u === 0 ? 'admin' : u % 5 === 0 ? 'ADMIN_AGENT' : 'user'
        recorder.request({ method: 'POST', route: '/api/v1/sessions', status: 201, durationMs: 12 + u, userId, role })
        recorder.request({ method: 'GET', route: '/api/v1/sessions/:id', status: (d + u) % 17 === 0 ? 500 : 200, durationMs: 4 + d, userId, role })
        for (const [k, stage] of stages.entries())
          for (let a = 0; a < 3; a++)
            recorder.llmCall({
              userId,
              role,
              model: models[(u + a) % models.length]!,
              stage,
              ok: (d + u + a + k) % 23 !== 0,
              tokensIn: 400 + 50 * a + d * 3,
              tokensOut: 200 + 30 * k,
              costMicroUsd: 150 * (a + 1) * (k + 1),
              durationMs: 300 * (k + 1) + 37 * ((d + u + a) % 11),
            })
        const failed = (d + u) % 13 === 0
        recorder.job({ userId, role, kind: 'council', outcome: failed ? 'failed' : 'succeeded', durationMs: 2500 + 100 * u, error: failed ? `Provider 429 for job ${u}: rate limited` : undefined })
      }
      await recorder.close()
    }
  } finally {
    await db.close()
  }
}

beforeAll(async () => {
  ;[server, browser] = await Promise.all([
    startServer({ env: { ADMIN_EMAILS: ADMIN, USAGE_FLUSH_MS: '50' }, echo: process.env.E2E_ECHO === 'true' }),
    launchBrowser(),
  ])
  await seedUsage(server.dataDir)
}, TEST_TIMEOUT_MS)

afterAll(async () => {
  await tools.closeContexts()
  await browser?.close()
  expect(await server?.stop()).toBe(0)
}, TEST_TIMEOUT_MS)

describe('the admin dashboard in the browser', () => {
  test(
    'charts render at 1440 and 390 px without sideways scroll; the range switch swaps the dashboard and updates the URL; members get 403',
    () =>
      withServerLog(async () => {
        // Today's figures come from the live path: one council through the API.
        const headers = { 'content-type': 'application/json', 'x-user-id': MEMBER }
        const created = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ question: 'Which of our services should we retire first this year?' }) })
        expect(created.status).toBe(201)
        const { id } = (await created.json()) as { id: string }
        expect((await fetch(`${server.url}/api/v1/sessions/${id}/run`, { method: 'POST', headers })).status).toBe(202)
        for (let i = 0; i < 100; i++) {
          const s = (await (await fetch(`${server.url}/api/v1/sessions/${id}`, { headers })).json()) as { status: string }
          if (s.status === 'succeeded' || s.status === 'failed') break
          await Bun.sleep(100)
        }
        await Bun.sleep(200)

        const { page, problems, offsite } = await openPage()
        await logIn(page, ADMIN)
        await page.setViewportSize({ width: 1440, height: 900 })
        await expectStatus((await page.goto(`${server.url}/admin?window=30d`))!, 200)
        const charts = page.locator('figure.svg-chart svg[role="img"]')
        expect(await charts.count()).toBeGreaterThanOrEqual(9)
        for (const svg of await charts.all()) {
          expect(await svg.getAttribute('aria-label')).toBeTruthy()
          expect(await svg.locator('title').count()).toBeGreaterThanOrEqual(1)
          expect((await svg.boundingBox())!.width).toBeGreaterThan(200)
        }
        expect(await page.locator('#chart-tokens rect').count()).toBeGreaterThan(29)
        await expectNoHorizontalOverflow(page)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-30d-1440.png'), fullPage: true })

        // The range switch: an htmx swap of #dashboard, the URL follows.
        const swapped = page.waitForResponse((res) => new URL(res.url()).pathname === '/admin' && res.request().headers()['hx-request'] === 'true')
        await page.locator('.ranges a', { hasText: '7 days' }).click()
        await expectStatus(await swapped, 200)
        await page.waitForURL((url) => url.search === '?window=7d')
        await page.locator('.ranges a[aria-current="true"]', { hasText: '7 days' }).waitFor()
        expect(await page.locator('#chart-sessions rect').count()).toBeGreaterThan(0)
        expect(await page.locator('h1').count()).toBe(1)

        // A chart's numbers as a table.
        await page.locator('#chart-cost-model details summary').click()
        await page.locator('#chart-cost-model details table').waitFor()
        expect(await page.locator('#chart-cost-model details table').textContent()).toContain('offline')

        await page.setViewportSize({ width: 390, height: 844 })
        await page.goto(`${server.url}/admin?window=90d`)
        await expectNoHorizontalOverflow(page)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-90d-390.png'), fullPage: true })
        await page.setViewportSize({ width: 1440, height: 900 })
        await page.goto(`${server.url}/admin?window=7d`)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-7d-1440.png'), fullPage: true })
        await page.setViewportSize({ width: 390, height: 844 })
        await expectNoHorizontalOverflow(page)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-7d-390.png'), fullPage: true })

        expect(problems.all().filter((line) => !line.includes('/favicon.ico'))).toEqual([])
        expect(offsite).toEqual([])

        const member = await openPage()
        await logIn(member.page, MEMBER)
        const refused = await member.page.goto(`${server.url}/admin`)
        expect(refused!.status()).toBe(403)
        expect(await member.page.locator('nav[aria-label="Main"]').count()).toBe(1)
      }),
    TEST_TIMEOUT_MS,
  )
})
