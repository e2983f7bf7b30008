/**
 * End to end: the live council page in chromium at 390 px and at 1440 px, on the
 * real server (embedded defaults, offline provider streaming with latency).
 * A member asks with "run right away"; without a reload and without polling,
 * the member cards go waiting → drafting → drafted → reviewing → done with
 * time, tokens and cost rising, each draft grows as it is written and lands
 * one by one, the reviews say who ranked whom, and the leaderboard chart, its
 * explanation, the reviewers' agreement and the synthesis appear in place.
 * The page never scrolls sideways; the whole viewing is one `session.read`.
 * Screenshots (live-<width>-drafting.png, live-<width>-done.png, …) go to E2E_SCREENSHOT_DIR.
 */
import { describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { browserSuite, expectNoProblems, expectStatus, screenshotPath, uniqueEmail } from '../helpers/e2e'

const TEST_TIMEOUT_MS = 120_000
const MEMBERS = ['analyst', 'pragmatist', 'skeptic']
const ADMIN = uniqueEmail('admin')

const { server, browser, contexts, withServerLog, logIn } = browserSuite({ env: { LLM_OFFLINE_LATENCY_MS: '1200', ADMIN_EMAILS: ADMIN }, timeoutMs: TEST_TIMEOUT_MS })

/** Records, inside the page, every card state and when each draft landed; the record surviving proves no reload. */
async function recordCouncil(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { council: { states: Record<string, string[]>; landed: Record<string, number>; streamed: Record<string, number>; figures: string[] } }
    w.council = { states: {}, landed: {}, streamed: {}, figures: [] }
    const note = () => {
      for (const card of Array.from(document.querySelectorAll<HTMLElement>('.member'))) {
        const agent = card.dataset.agent!
        const states = (w.council.states[agent] ??= [])
        if (states.at(-1) !== card.dataset.state) states.push(card.dataset.state!)
        const stream = card.querySelector('pre.stream')
        if (stream) w.council.streamed[agent] = Math.max(w.council.streamed[agent] ?? 0, stream.textContent!.length)
        if (card.querySelector('details.draft') && !(agent in w.council.landed)) w.council.landed[agent] = performance.now()
        const tokens = card.querySelector('[data-role="tokens"]')?.textContent ?? ''
        if (w.council.figures.at(-1) !== tokens) w.council.figures.push(tokens)
      }
    }
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['data-state'] })
  })
}

async function noSidewaysScroll(page: Page): Promise<void> {
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth])
  expect(scroll).toBeLessThanOrEqual(client)
}

describe('the live council page', () => {
  for (const width of [390, 1440])
    test(
      `at ${width} px: cards update live, drafts land one by one, the chart and synthesis appear without a reload`,
      () =>
        withServerLog(async () => {
          const context = await browser().newContext({ viewport: { width, height: 900 } })
          contexts.push(context)
          const page = await context.newPage()
          page.setDefaultTimeout(20_000)
          const { watchPage } = await import('../helpers/browser')
          const problems = await watchPage(page)
          let polls = 0
          let streams = 0
          page.on('request', (request) => {
            const path = new URL(request.url()).pathname
            if (/\/progress$/.test(path)) polls++
            if (/^\/sessions\/[^/]+\/events$/.test(path)) streams++
          })
          await logIn(page, `live-${width}-${crypto.randomUUID().slice(0, 6)}@example.com`)

          await page.goto(`${server().url}/sessions/new`)
          await recordCouncil(page) // the session page arrives by htmx into this same document
          const question = `Should the <b>support</b> team try a four-day week? ${crypto.randomUUID().slice(0, 6)}`
          await page.locator('textarea[name="question"]').fill(question)
          const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions')
          await page.locator('#new-session [type="submit"]').click()
          await expectStatus(await posted, 200)
          await page.waitForURL((url) => /^\/sessions\/[0-9a-f-]{36}$/.test(url.pathname))
          const sessionId = new URL(page.url()).pathname.split('/')[2]!

          // Drafts being written: a card drafting, its text growing in place.
          await page.locator('.member[data-state="drafting"] pre.stream').first().waitFor()
          await page.screenshot({ path: screenshotPath(`live-${width}-drafting.png`), fullPage: true })
          await page.locator('.member[data-state="reviewing"], .member[data-state="done"]').first().waitFor()
          await page.screenshot({ path: screenshotPath(`live-${width}-reviewing.png`), fullPage: true })

          // The end: results in place, no reload.
          await page.locator('#synthesis').waitFor({ timeout: 60_000 })
          await page.locator('#leaderboard-chart').waitFor()
          await page.screenshot({ path: screenshotPath(`live-${width}-done.png`), fullPage: true })
          await page.locator('#leaderboard').screenshot({ path: screenshotPath(`live-${width}-leaderboard.png`) })
          const council = await page.evaluate(() => (window as unknown as { council?: { states: Record<string, string[]>; landed: Record<string, number>; streamed: Record<string, number>; figures: string[] } }).council)
          expect(council).toBeDefined()

          for (const agent of MEMBERS) {
            const states = council!.states[agent]!
            // Each member drafted, then reviewed, then was done; it started waiting or was already drafting.
            const order = ['drafting', 'drafted', 'reviewing', 'done'].filter((state) => states.includes(state))
            expect(order).toEqual(['drafting', 'drafted', 'reviewing', 'done'].filter((state) => state !== 'drafted' || states.includes('drafted')))
            expect(states.indexOf('drafting')).toBeLessThan(states.indexOf('done'))
            expect(states.includes('reviewing')).toBe(true)
            expect(council!.streamed[agent]).toBeGreaterThan(20) // text arrived before the draft landed
          }
          const landed = MEMBERS.map((agent) => council!.landed[agent]!).sort((a, b) => a - b)
          expect(landed.every((at) => at > 0)).toBe(true)
          // One by one, not all at once at the end: they land at different moments (the offline latency varies ±20 % per call, so two may land close together).
          expect(new Set(landed).size).toBeGreaterThan(1)
          expect(council!.figures.some((text) => /^[1-9][\d,]* tokens$/.test(text))).toBe(true)

          expect(await page.locator('#session-status').textContent()).toBe('succeeded')
          expect(await page.locator('#leaderboard-chart g.bar').count()).toBe(3)
          expect(await page.locator('#leaderboard-explained').textContent()).toContain('Borda')
          expect(await page.locator('#agreement').textContent()).toContain('Kendall')
          expect(await page.locator('#drafts .member details.draft').count()).toBe(3)
          expect(await page.locator('.member-review', { hasText: 'Ranked:' }).count()).toBe(3)
          // The question is quoted as the user wrote it, not rendered as markup.
          expect(await page.locator('#synthesis b').count()).toBe(0)
          expect(await page.locator('#synthesis').textContent()).toContain('<b>support</b>')
          expect(streams).toBe(1)
          expect(polls).toBe(0)
          await noSidewaysScroll(page)

          // One viewing, one audited read, however long it ran.
          await Bun.sleep(600)
          const trail = await fetch(`${server().url}/api/admin/audit?action=session.read&limit=200`, { headers: { 'x-user-id': ADMIN } })
          expect(trail.status).toBe(200)
          const reads = ((await trail.json()) as { items: Array<{ session_id: string }> }).items.filter((item) => item.session_id === sessionId)
          expect(reads).toHaveLength(1)

          expectNoProblems(problems)
        }),
      TEST_TIMEOUT_MS,
    )
})
