/**
 * End to end: the roadmap, tickets and docs in chromium, against the real
 * server. A member filters the roadmap with htmx and opens an item's ticket;
 * a member files a ticket (and a comment) carrying the OWASP XSS payloads and
 * nothing runs — no dialog, no console error, no CSP violation, no element
 * outside the sanitiser's list; an admin triages it in place and reorders the
 * roadmap without a reload. /roadmap, /tickets, /tickets/:id and
 * /docs/getting-started fit a 390 px phone without sideways scrolling;
 * screenshots at 390 and 1440 px go to E2E_SCREENSHOT_DIR.
 */
import { describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { browserSuite, expectNoProblems, expectStatus, pathOf, screenshotPath, uniqueEmail } from '../helpers/e2e'
import { XSS_PAYLOADS } from '../helpers/xss'

const TEST_TIMEOUT_MS = 90_000
const ADMIN = 'product-admin@example.com'

const { server, withServerLog, openPage, logIn, signIn } = browserSuite({ env: { ADMIN_EMAILS: ADMIN }, timeoutMs: TEST_TIMEOUT_MS })

/** The JSON API as a header-identified caller (development trusts X-User-Id). */
async function api<T = any>(method: string, path: string, user: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server().url}${path}`, {
    method,
    headers: { 'x-user-id': user, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

/** Marks the window; if the mark is gone later, the page was reloaded. */
const markWindow = (page: Page) => page.evaluate(() => ((window as unknown as { __kept: number }).__kept = 1))
const windowKept = (page: Page) => page.evaluate(() => (window as unknown as { __kept?: number }).__kept === 1)

/** Screenshots at 390 and 1440 px, and no sideways scrolling on the phone. */
async function checkWidths(page: Page, name: string): Promise<void> {
  for (const width of [390, 1440]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 })
    await page.waitForTimeout(50)
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))
    if (width === 390) expect({ page: name, scrollWidth }).toEqual({ page: name, scrollWidth: Math.min(scrollWidth, innerWidth) })
    await page.screenshot({ path: screenshotPath(`${name}-${width}.png`), fullPage: true })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

describe('roadmap and tickets in the browser', () => {
  test(
    'a member filters the roadmap with htmx and opens the ticket an item covers',
    () =>
      withServerLog(async () => {
        const author = uniqueEmail('author')
        const items = await api<{ items: Array<{ id: string; title: string }> }>('GET', '/api/v1/roadmap?phase=next', ADMIN)
        const item = items.items[0]!
        const ticket = await api<{ id: string }>('POST', '/api/v1/tickets', author, {
          title: 'Show progress while the council runs',
          body: 'Watching a spinner for a minute is **hard**.',
          kind: 'feature',
        })
        await api('PATCH', `/api/v1/tickets/${ticket.id}`, ADMIN, { roadmap_item_id: item.id, public: true, status: 'triaged' })

        const { page, problems, offsite } = await signIn(uniqueEmail('member'))
        await page.locator('header nav a[href="/roadmap"]').click()
        await page.waitForURL((url) => url.pathname === '/roadmap')
        for (const phase of ['now', 'next', 'later']) await page.locator(`#roadmap-board section[data-phase="${phase}"]`).waitFor()
        expect(await page.locator('[data-move]').count()).toBe(0)
        await markWindow(page)

        await page.locator('#filter-phase').selectOption('next')
        const filtered = page.waitForResponse((res) => new URL(res.url()).pathname === '/roadmap' && res.request().headers()['hx-request'] === 'true')
        await page.locator('#roadmap-filter [type="submit"]').click()
        await expectStatus(await filtered, 200)
        await page.waitForFunction(() => !document.querySelector('#roadmap-board section[data-phase="now"]'))
        expect(await page.locator('#roadmap-board section[data-phase]').count()).toBe(1)
        expect(new URL(page.url()).searchParams.get('phase')).toBe('next')
        expect(await windowKept(page)).toBe(true)

        // Back and forward through the pushed filter restore whole boards, not a fragment in place of the page.
        await page.goBack()
        await page.waitForFunction(() => document.querySelectorAll('#roadmap-board section[data-phase]').length === 3)
        expect(await page.locator('header nav a[href="/roadmap"]').count()).toBe(1)
        await page.goForward()
        await page.waitForFunction(() => document.querySelectorAll('#roadmap-board section[data-phase]').length === 1)
        expect(await page.locator('#roadmap-filter').count()).toBe(1)

        const card = page.locator(`#item-${item.id}`)
        await card.waitFor()
        const link = card.locator(`a[href="/tickets/${ticket.id}"]`)
        expect(await link.textContent()).toBe('Show progress while the council runs')
        await link.click()
        await page.waitForURL((url) => url.pathname === `/tickets/${ticket.id}`)
        expect(await page.locator('#ticket-body strong').textContent()).toBe('hard')
        expect(await page.locator('#ticket-roadmap a').textContent()).toBe(item.title)

        expectNoProblems(problems)
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'a ticket and a comment carrying the OWASP payloads run nothing; an admin triages the ticket in place',
    () =>
      withServerLog(async () => {
        const member = uniqueEmail('reporter')
        const payloads = XSS_PAYLOADS.map((p) => p.source).join('\n\n')
        const { page, problems, offsite } = await openPage()
        const dialogs: string[] = []
        page.on('dialog', (dialog) => {
          dialogs.push(dialog.message())
          void dialog.dismiss()
        })
        await logIn(page, member)
        await page.goto(`${server().url}/tickets?new=true`)
        const form = page.locator('#new-ticket-form')
        await form.locator('select[name="kind"]').selectOption('bug')
        await form.locator('input[name="title"]').fill(`<img src=x onerror=alert('title')> Payloads ${crypto.randomUUID().slice(0, 6)}`)
        await form.locator('textarea[name="body"]').fill(payloads)
        const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/tickets')
        await form.locator('[type="submit"]').click()
        const response = await posted
        await expectStatus(response, 200)
        const location = response.headers()['hx-location']!
        expect(location).toMatch(/^\/tickets\/[0-9a-f-]{36}$/)
        await page.waitForURL((url) => url.pathname === location)
        await page.locator('#ticket-body').waitFor()

        const comment = page.locator('#comment-form')
        await comment.locator('textarea[name="body"]').fill(payloads)
        const commented = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === `${location}/comments`)
        await comment.locator('[type="submit"]').click()
        await expectStatus(await commented, 200)
        await page.locator('#comments .comment').waitFor()
        // Give anything that could fire (onerror, onload, autofocus, meta refresh) the chance to.
        await page.waitForTimeout(500)

        const rendered = await page.evaluate(() => {
          const markdown = Array.from(document.querySelectorAll('.markdown'))
          const all = markdown.flatMap((root) => Array.from(root.querySelectorAll('*')))
          return {
            containers: markdown.length,
            forbidden: all.filter((el) => !/^(H[1-6]|P|BR|HR|BLOCKQUOTE|PRE|CODE|EM|STRONG|DEL|UL|OL|LI|A|TABLE|THEAD|TBODY|TR|TH|TD)$/.test(el.tagName)).map((el) => el.tagName),
            handlers: all.flatMap((el) => Array.from(el.attributes).filter((a) => /^on|^hx-|^data-|^style$|^id$/i.test(a.name)).map((a) => `${el.tagName} ${a.name}`)),
            hrefs: all.filter((el) => el.tagName === 'A' && el.hasAttribute('href')).map((el) => (el as HTMLAnchorElement).protocol),
            title: document.querySelector('#ticket h1')?.textContent ?? '',
          }
        })
        expect(rendered.containers).toBe(2)
        expect(rendered.forbidden).toEqual([])
        expect(rendered.handlers).toEqual([])
        expect(rendered.hrefs.filter((protocol) => !['http:', 'https:', 'mailto:'].includes(protocol))).toEqual([])
        expect(rendered.title).toContain("<img src=x onerror=alert('title')>")
        expect(dialogs).toEqual([])
        expectNoProblems(problems)
        expect(offsite).toEqual([])
        await checkWidths(page, 'ticket-xss')

        // The admin finds it and triages it without leaving the page.
        const admin = await openPage()
        admin.page.on('dialog', (dialog) => {
          dialogs.push(dialog.message())
          void dialog.dismiss()
        })
        await logIn(admin.page, ADMIN)
        await admin.page.goto(`${server().url}/tickets?status=open`)
        await admin.page.locator(`a[href="${location}"]`).click()
        await admin.page.waitForURL((url) => url.pathname === location)
        await markWindow(admin.page)
        const triage = admin.page.locator('#triage-form')
        await triage.locator('select[name="status"]').selectOption('triaged')
        await triage.locator('select[name="priority"]').selectOption('urgent')
        const items = await api<{ items: Array<{ id: string; title: string }> }>('GET', '/api/v1/roadmap?phase=now', ADMIN)
        await triage.locator('select[name="roadmap_item_id"]').selectOption(items.items[0]!.id)
        await triage.locator('input[name="public"]').check()
        const saved = admin.page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === `${location}/triage`)
        await triage.locator('[type="submit"]').click()
        await expectStatus(await saved, 200)
        await admin.page.locator('#ticket-ok', { hasText: 'Triage saved.' }).waitFor()
        expect(await admin.page.locator('#ticket .badge.status-triaged').textContent()).toBe('Triaged')
        expect(await admin.page.locator('#ticket .badge.priority-urgent').textContent()).toBe('Urgent priority')
        expect(await admin.page.locator('#ticket .badge.public').textContent()).toBe('Public')
        expect(await admin.page.locator('#ticket-roadmap a').textContent()).toBe(items.items[0]!.title)
        expect(await windowKept(admin.page)).toBe(true)
        await admin.page.waitForTimeout(300)
        expect(dialogs).toEqual([])
        expectNoProblems(admin.problems)
        await checkWidths(admin.page, 'ticket-triage')

        // The member sees the triage on reload.
        await page.reload()
        expect(await page.locator('#ticket .badge.status-triaged').textContent()).toBe('Triaged')
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'an admin moves a roadmap item down with htmx; the board updates without a reload',
    () =>
      withServerLog(async () => {
        const { page, problems } = await signIn(ADMIN)
        await page.goto(`${server().url}/roadmap?phase=later`)
        const titles = () => page.locator('#roadmap-board .roadmap-item h3').allTextContents()
        const before = await titles()
        expect(before.length).toBeGreaterThanOrEqual(2)
        await markWindow(page)
        const first = page.locator('#roadmap-board .roadmap-item').first()
        const moved = page.waitForResponse((res) => res.request().method() === 'POST' && /\/roadmap\/items\/[^/]+\/move$/.test(new URL(res.url()).pathname))
        await first.locator('button[data-move="down"]').click()
        await expectStatus(await moved, 200)
        await page.locator('#roadmap-ok', { hasText: 'Moved' }).waitFor()
        expect(await titles()).toEqual([before[1]!, before[0]!, ...before.slice(2)])
        expect(await windowKept(page)).toBe(true)
        expect(pathOf(page)).toBe('/roadmap')
        expect(await page.locator('#roadmap-board .roadmap-item').first().locator('button[data-move="up"]').isDisabled()).toBe(true)
        expectNoProblems(problems)
        await page.goto(`${server().url}/roadmap`)
        await checkWidths(page, 'roadmap-admin')
      }),
    TEST_TIMEOUT_MS,
  )
})

describe('the product pages fit a phone', () => {
  test(
    '/roadmap, /tickets, /tickets/:id and /docs/getting-started: no sideways scrolling at 390 px; screenshots at 390 and 1440 px',
    () =>
      withServerLog(async () => {
        const member = uniqueEmail('phone-member-with-a-rather-long-address')
        const ticket = await api<{ id: string }>('POST', '/api/v1/tickets', member, {
          title: 'A long title that has to wrap on a phone: exporting the council’s results to CSV loses the leaderboard column order',
          body: [
            'Steps:',
            '',
            '1. Run a council.',
            '2. Export it.',
            '',
            '```',
            'curl -s -H "Authorization: Bearer $TOKEN" https://council.example.org/api/v1/sessions/0190a0b0-0000-7000-8000-000000000000/results | jq .leaderboard',
            '```',
            '',
            '| column | expected | got |',
            '|---|---|---|',
            '| mean_rank | first | last |',
            '',
            `A very long word: ${'x'.repeat(120)}`,
          ].join('\n'),
          kind: 'bug',
        })
        await api('POST', `/api/v1/tickets/${ticket.id}/comments`, member, { body: 'Still happening on **Monday** — see https://council.example.org/sessions/0190a0b0-0000-7000-8000-000000000000' })
        const { page, problems } = await signIn(member)
        for (const [path, name] of [
          ['/roadmap', 'roadmap'],
          ['/tickets', 'tickets'],
          [`/tickets/${ticket.id}`, 'ticket'],
          ['/docs/getting-started', 'docs-getting-started'],
        ] as const) {
          const response = await page.goto(`${server().url}${path}`)
          expect(response?.status()).toBe(200)
          await checkWidths(page, name)
        }
        // The table of contents jumps to its heading.
        await page.goto(`${server().url}/docs/getting-started`)
        const entry = page.locator('#toc a').nth(1)
        const target = (await entry.getAttribute('href'))!
        await entry.click()
        expect(new URL(page.url()).hash).toBe(target)
        expect(await page.locator(target).count()).toBe(1)
        expectNoProblems(problems)
      }),
    TEST_TIMEOUT_MS,
  )
})
