/**
 * Debian's chromium driven by playwright-core, for end-to-end tests. Playwright's
 * own browser download cannot work here (no internet), so the system binary is used.
 * `--user-data-dir` must not be passed: Playwright makes its own profile and throws.
 */
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core'

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * @example
 * const browser = await launchBrowser()
 * const page = await browser.newPage()
 * await browser.close()
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 })
}

export interface PageProblems {
  /** console.error messages (Chromium reports CSP violations and failed loads here) and CSP violation events. */
  consoleErrors: string[]
  /** Uncaught exceptions in the page. */
  pageErrors: string[]
  /** Everything above, one line each, for an assertion message. */
  all(): string[]
}

/**
 * Collects what would make a page broken for a user even when it looks fine:
 * console errors, uncaught exceptions and CSP violations.
 * @example
 * const problems = await watchPage(page)
 * await page.goto(url)
 * expect(problems.all()).toEqual([])
 */
export async function watchPage(page: Page): Promise<PageProblems> {
  const consoleErrors: string[] = []
  const pageErrors: string[] = []
  // Init scripts are injected by the DevTools protocol, so the page's CSP does not block this listener.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(
        `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`,
      )
    })
  })
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return
    const { url, lineNumber } = message.location()
    consoleErrors.push(`${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`)
  })
  page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message))
  return {
    consoleErrors,
    pageErrors,
    all: () => [...consoleErrors.map((text) => `console: ${text}`), ...pageErrors.map((text) => `pageerror: ${text}`)],
  }
}
