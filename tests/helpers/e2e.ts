/**
 * What every browser test needs around a page: the server and chromium started
 * for the file and stopped after it, a fresh watched profile whose off-site
 * requests fail loudly, the dev login, the server's log in a failing test's
 * message, a status check that shows the body, and screenshots at a phone's
 * and a desktop's width.
 */
import { afterAll, beforeAll, expect } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { launchBrowser, watchPage, type PageProblems } from './browser'
import { startServer, type RunningServer } from './server'

/** An address nobody else in the run signs in with. */
export const uniqueEmail = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`

/** Chromium asks for /favicon.ico on its own; a 404 there is browser chrome, not the page. */
const isFaviconNoise = (line: string) => line.includes('/favicon.ico')

export const pathOf = (page: Page) => new URL(page.url()).pathname

/**
 * The page raised no console error, exception or CSP violation, apart from the favicon
 * and the lines `expected` matches (a refused load the test itself caused: Chromium logs it).
 */
export function expectNoProblems(problems: PageProblems, expected?: RegExp): void {
  expect(problems.all().filter((line) => !isFaviconNoise(line) && !expected?.test(line))).toEqual([])
}

let screenshotDir: string | undefined

/** Where the screenshot `name` goes: E2E_SCREENSHOT_DIR keeps them somewhere known for a human to look at. */
export function screenshotPath(name: string): string {
  screenshotDir ??= process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))
  return join(screenshotDir, name)
}

/** Full-page screenshots `<name>-390.png` and `<name>-1440.png`, each width checked for sideways scrolling. */
export async function shoot(page: Page, name: string): Promise<void> {
  for (const [width, height] of [
    [390, 844],
    [1440, 900],
  ] as const) {
    await page.setViewportSize({ width, height })
    await expectNoHorizontalOverflow(page)
    // caret: 'initial' — hiding the caret leaves style="" on inputs, which htmx's next swap copies, and the CSP then reports.
    await page.screenshot({ path: screenshotPath(`${name}-${width}.png`), fullPage: true, caret: 'initial' })
  }
  await page.setViewportSize({ width: 1280, height: 900 })
}

/** Fails with the status and body of an unexpected answer, which says far more than a missing header. */
export async function expectStatus(response: Response, status: number): Promise<void> {
  if (response.status() !== status)
    throw new Error(
      `${response.request().method()} ${response.url()} answered ${response.status()}, expected ${status}:\n${(await response.text()).slice(0, 2000)}`,
    )
}

/** The page is no wider than its window: nothing scrolls sideways (the failure names the path and the width). */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }))
  const path = pathOf(page)
  expect({ path, width: scroll }).toEqual({ path, width: Math.min(scroll, inner) })
}

interface OpenedPage {
  page: Page
  problems: PageProblems
  /** Requests the page made to anywhere but the server (each was refused). */
  offsite: string[]
}

/**
 * @example
 * const tools = pageTools(() => server, () => browser)
 * const { page } = await tools.openPage(); await tools.logIn(page, 'a@example.com')
 */
export function pageTools(server: () => RunningServer, browser: () => Browser) {
  const contexts: BrowserContext[] = []
  /** A fresh browser profile (own cookies) whose page is watched for problems; requests off the server fail loudly. */
  async function openPage(): Promise<OpenedPage> {
    const context = await browser().newContext({ viewport: { width: 1280, height: 900 } })
    contexts.push(context)
    const offsite: string[] = []
    await context.route(
      (url) => url.origin !== server().url,
      (route) => {
        offsite.push(route.request().url())
        return route.abort()
      },
    )
    const page = await context.newPage()
    page.setDefaultTimeout(15_000)
    return { page, problems: await watchPage(page), offsite }
  }
  /** The dev login form; ends on /sessions with the header naming the user. */
  async function logIn(page: Page, email: string): Promise<void> {
    await page.goto(`${server().url}/login`)
    const form = page.locator('form[action="/auth/dev-login"]')
    await form.locator('input[name="email"]').fill(email)
    await form.locator('[type="submit"]').click()
    await page.waitForURL((url) => url.pathname === '/sessions')
    expect(await page.locator('header').textContent()).toContain(email)
  }
  return {
    contexts,
    /** Runs a test body; on failure, the tail of the server's output goes into the error. */
    async withServerLog(body: () => Promise<void>): Promise<void> {
      try {
        await body()
      } catch (error) {
        const tail = server().output().split('\n').slice(-40).join('\n')
        if (error instanceof Error) error.message += `\n--- server output (tail) ---\n${tail}`
        throw error
      }
    },
    openPage,
    logIn,
    /** A fresh page (as openPage) already signed in as `email`. */
    async signIn(email: string): Promise<OpenedPage> {
      const opened = await openPage()
      await logIn(opened.page, email)
      return opened
    },
    async closeContexts(): Promise<void> {
      await Promise.allSettled(contexts.map((context) => context.close()))
    },
  }
}

/**
 * Starts the real server (with `env` on top of its embedded defaults) and chromium before
 * the file's tests, and after them closes every profile, the browser and the server, which
 * must exit 0: a server that cannot shut down cleanly on SIGTERM loses audit events in production.
 * @example
 * const { server, signIn, withServerLog } = browserSuite({ env: { ADMIN_EMAILS: ADMIN }, timeoutMs: 90_000 })
 * test('…', () => withServerLog(async () => { const { page } = await signIn(ADMIN); await page.goto(`${server().url}/admin`) }))
 */
export function browserSuite(options: { env?: Record<string, string>; timeoutMs: number }) {
  let server: RunningServer
  let browser: Browser
  const tools = pageTools(() => server, () => browser)
  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startServer({ env: options.env, echo: process.env.E2E_ECHO === 'true' }), launchBrowser()])
  }, options.timeoutMs)
  afterAll(async () => {
    await tools.closeContexts()
    await browser?.close()
    expect(await server?.stop()).toBe(0)
  }, options.timeoutMs)
  return { ...tools, server: () => server, browser: () => browser }
}
