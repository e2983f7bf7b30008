/**
 * End to end: every page of SPEC §4 that exists, at 390 px and at 1440 px, on
 * the real server: no horizontal scroll, the signed-in person's navigation on
 * every page they see (403 and 404 pages too), no console error or CSP
 * violation. Pages of SPEC §4 that are not built yet are listed in PENDING and
 * checked to answer 404 today, so none is skipped silently: once one exists,
 * this test fails until it moves into PAGES. Screenshots: layout-<page>-<width>.png.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, watchPage } from '../helpers/browser'
import { pageTools } from '../helpers/e2e'
import { startServer, type RunningServer } from '../helpers/server'

const TEST_TIMEOUT_MS = 180_000
const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))
const suffix = crypto.randomUUID().slice(0, 8)
const MEMBER = `layout-member-${suffix}@example.com`
const ADMIN = `layout-admin-${suffix}@example.com`

type Who = 'anonymous' | 'member' | 'admin'
interface Ids {
  session: string
  job: string
  /** A finished council with an uploaded document: the document list and citations on the session page. */
  documents: string
  ticket: string
}
interface Checked {
  name: string
  path: (ids: Ids) => string
  who: Who
  status: number
}

/** The pages of SPEC §4 that exist, and the error pages, each as the person who would see it. */
const PAGES: Checked[] = [
  { name: 'home-anonymous', path: () => '/', who: 'anonymous', status: 200 },
  { name: 'login', path: () => '/login', who: 'anonymous', status: 200 },
  { name: 'home', path: () => '/', who: 'member', status: 200 },
  { name: 'login-signed-in', path: () => '/login', who: 'member', status: 200 },
  { name: 'sessions', path: () => '/sessions', who: 'member', status: 200 },
  { name: 'sessions-search', path: () => '/sessions?q=four-day&status=succeeded', who: 'member', status: 200 },
  { name: 'sessions-new', path: () => '/sessions/new', who: 'member', status: 200 },
  { name: 'sessions-new-palette', path: () => '/sessions/new?palette=default', who: 'member', status: 200 },
  { name: 'session', path: (ids) => `/sessions/${ids.session}`, who: 'member', status: 200 },
  { name: 'session-documents', path: (ids) => `/sessions/${ids.documents}`, who: 'member', status: 200 },
  { name: 'job-logs', path: (ids) => `/jobs/${ids.job}/logs`, who: 'member', status: 200 },
  { name: 'palettes', path: () => '/palettes', who: 'member', status: 200 },
  { name: 'me', path: () => '/me', who: 'member', status: 200 },
  { name: 'agents', path: () => '/agents', who: 'member', status: 200 },
  { name: 'roadmap', path: () => '/roadmap', who: 'member', status: 200 },
  { name: 'roadmap-admin', path: () => '/roadmap', who: 'admin', status: 200 },
  { name: 'tickets', path: () => '/tickets', who: 'member', status: 200 },
  { name: 'ticket', path: (ids) => `/tickets/${ids.ticket}`, who: 'member', status: 200 },
  { name: 'ticket-triage', path: (ids) => `/tickets/${ids.ticket}`, who: 'admin', status: 200 },
  { name: 'docs', path: () => '/docs', who: 'member', status: 200 },
  { name: 'doc', path: () => '/docs/getting-started', who: 'member', status: 200 },
  { name: 'admin', path: () => '/admin', who: 'admin', status: 200 },
  { name: 'admin-palettes', path: () => '/admin/palettes', who: 'admin', status: 200 },
  { name: 'admin-rbac', path: () => '/admin/rbac', who: 'admin', status: 200 },
  { name: 'admin-audit', path: () => '/admin/audit', who: 'admin', status: 200 },
  { name: 'admin-limits', path: () => '/admin/limits', who: 'admin', status: 200 },
  { name: 'admin-jobs', path: () => '/admin/jobs', who: 'admin', status: 200 },
  { name: 'admin-quality', path: () => '/admin/quality', who: 'admin', status: 200 },
  { name: 'status', path: () => '/status', who: 'member', status: 200 },
  { name: 'admin-incidents', path: () => '/admin/incidents', who: 'admin', status: 200 },
  { name: 'admin-incidents-forbidden', path: () => '/admin/incidents', who: 'member', status: 403 },
  { name: 'admin-limits', path: () => '/admin/limits', who: 'admin', status: 200 },
  { name: 'admin-jobs', path: () => '/admin/jobs', who: 'admin', status: 200 },
  { name: 'admin-quality', path: () => '/admin/quality', who: 'admin', status: 200 },
  { name: 'forbidden', path: () => '/admin', who: 'member', status: 403 },
  { name: 'not-found', path: () => `/sessions/${crypto.randomUUID()}`, who: 'member', status: 404 },
  { name: 'no-such-page', path: () => '/no/such/page', who: 'member', status: 404 },
]

/** SPEC §4 pages other work packages are building: no route answers them until they land; then they belong in PAGES. */
const PENDING: string[] = []

let server: RunningServer
let browser: Browser
const tools = pageTools(() => server, () => browser)
const ids: Ids = { session: '', job: '', documents: '', ticket: '' }

/** Waits until the member's job has finished. */
async function finished(jobId: string, headers: Record<string, string>) {
  for (let i = 0; i < 300; i++) {
    const job = (await (await fetch(`${server.url}/api/v1/jobs/${jobId}`, { headers })).json()) as { status: string }
    if (job.status === 'succeeded') return
    await Bun.sleep(100)
  }
}

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startServer({ env: { ADMIN_EMAILS: ADMIN }, echo: process.env.E2E_ECHO === 'true' }), launchBrowser()])
  // A finished council of the member's, with a long question, for the session and logs pages.
  const headers = { 'x-user-id': MEMBER, 'content-type': 'application/json' }
  const question = `Should the support team move to a four-day week? ${'Consider the rota, the customers in other time zones and the hand-over between shifts. '.repeat(3)}averyveryverylongwordwithoutanyspacesthatcouldpushthepagesideways${'x'.repeat(60)}`
  const created = await (await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ question }) })).json()
  ids.session = (created as { id: string }).id
  const run = await (await fetch(`${server.url}/api/v1/sessions/${ids.session}/run`, { method: 'POST', headers })).json()
  ids.job = (run as { job_id: string }).job_id
  // And one with a document with a long name, cited in the answer.
  const form = new FormData()
  form.append('question', 'What drove revenue growth in the third quarter?')
  const report = 'Quarterly report. Revenue growth reached twelve percent in the third quarter, driven by the new pricing plans.'
  form.append('files', new Blob([report], { type: 'text/plain' }), `quarterly-report-for-the-board-${'q3'.repeat(30)}.txt`)
  const member = { 'x-user-id': MEMBER }
  ids.documents = ((await (await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: member, body: form })).json()) as { id: string }).id
  const cited = (await (await fetch(`${server.url}/api/v1/sessions/${ids.documents}/run`, { method: 'POST', headers: member })).json()) as { job_id: string }
  const ticket = { title: 'The export button does nothing on a phone', body: 'Steps:\n\n1. Open a session\n2. Press export', kind: 'bug' }
  ids.ticket = ((await (await fetch(`${server.url}/api/v1/tickets`, { method: 'POST', headers, body: JSON.stringify(ticket) })).json()) as { id: string }).id
  await Promise.all([finished(ids.job, headers), finished(cited.job_id, member)])
}, TEST_TIMEOUT_MS)

afterAll(async () => {
  await tools.closeContexts()
  await browser?.close()
  expect(await server?.stop()).toBe(0)
}, TEST_TIMEOUT_MS)

async function signedIn(width: number, who: Who): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } })
  tools.contexts.push(context)
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  if (who !== 'anonymous') await tools.logIn(page, who === 'admin' ? ADMIN : MEMBER)
  return page
}

describe('layout of every page', () => {
  for (const width of [390, 1440])
    test(
      `at ${width} px: no page scrolls sideways, and signed-in pages (error pages too) show the person’s navigation`,
      () =>
        tools.withServerLog(async () => {
          const pages = { anonymous: await signedIn(width, 'anonymous'), member: await signedIn(width, 'member'), admin: await signedIn(width, 'admin') }
          const problems = new Map<Page, Awaited<ReturnType<typeof watchPage>>>()
          for (const page of Object.values(pages)) problems.set(page, await watchPage(page))
          const failures: string[] = []
          for (const check of PAGES) {
            const page = pages[check.who]
            const response = await page.goto(`${server.url}${check.path(ids)}`)
            if (response?.status() !== check.status) failures.push(`${check.name}: status ${response?.status()}, expected ${check.status}`)
            await page.waitForLoadState('networkidle')
            const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth])
            if (scroll > client) failures.push(`${check.name}: ${scroll} px wide in a ${client} px window`)
            const header = (await page.locator('header.topbar').textContent()) ?? ''
            const email = check.who === 'admin' ? ADMIN : MEMBER
            const named = check.who === 'anonymous' ? null : await page.locator('header.topbar .who .email').getAttribute('title', { timeout: 2000 }).catch(() => null)
            if (check.who !== 'anonymous' && named !== email) failures.push(`${check.name}: the header does not name ${email}: ${header.trim()}`)
            if (check.who !== 'anonymous' && !header.includes('Sessions')) failures.push(`${check.name}: no signed-in navigation: ${header.trim()}`)
            await page.screenshot({ path: join(SCREENSHOT_DIR, `layout-${check.name}-${width}.png`), fullPage: true })
          }
          // Times say their zone.
          await pages.member.goto(`${server.url}/sessions`)
          expect(await pages.member.locator('time[datetime]').first().textContent()).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d \S+/)
          // A signed-in person on /login sees who they are.
          await pages.member.goto(`${server.url}/login`)
          expect(await pages.member.locator('#signed-in').textContent()).toContain(MEMBER)
          expect(failures).toEqual([])
          for (const [page, seen] of problems)
            expect(seen.all().filter((line) => !line.includes('/favicon.ico') && !/status of (403|404)/.test(line)), page.url()).toEqual([])
        }),
      TEST_TIMEOUT_MS,
    )

  test('SPEC §4 pages not built yet have no route (move each into PAGES once it exists)', async () => {
    const built: string[] = []
    for (const path of PENDING) {
      // Asked for JSON, an unknown route says route_not_found; an existing page refusing a made-up id says something else.
      const res = await fetch(`${server.url}${path}`, { headers: { 'x-user-id': ADMIN, accept: 'application/json' } })
      const code = res.status === 404 ? ((await res.json()) as { error: { code: string } }).error.code : null
      if (code !== 'route_not_found') built.push(`${path} answers ${res.status} ${code ?? ''}`)
    }
    expect(built).toEqual([])
  })
})
