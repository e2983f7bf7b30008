/**
 * What every browser test needs around a page: a fresh watched profile whose
 * off-site requests fail loudly, the dev login, the server's log in a failing
 * test's message, and a status check that shows the body.
 */
import { expect } from 'bun:test'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { watchPage, type PageProblems } from './browser'
import type { RunningServer } from './server'

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
  const path = new URL(page.url()).pathname
  expect({ path, width: scroll }).toEqual({ path, width: Math.min(scroll, inner) })
}

/**
 * @example
 * const tools = pageTools(() => server, () => browser)
 * const { page } = await tools.openPage(); await tools.logIn(page, 'a@example.com')
 */
export function pageTools(server: () => RunningServer, browser: () => Browser) {
  const contexts: BrowserContext[] = []
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
    /** A fresh browser profile (own cookies) whose page is watched for problems; requests off the server fail loudly. */
    async openPage(): Promise<{ page: Page; problems: PageProblems; offsite: string[] }> {
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
    },
    /** The dev login form; ends on /sessions with the header naming the user. */
    async logIn(page: Page, email: string): Promise<void> {
      await page.goto(`${server().url}/login`)
      const form = page.locator('form[action="/auth/dev-login"]')
      await form.locator('input[name="email"]').fill(email)
      await form.locator('[type="submit"]').click()
      await page.waitForURL((url) => url.pathname === '/sessions')
      expect(await page.locator('header').textContent()).toContain(email)
    },
    async closeContexts(): Promise<void> {
      await Promise.allSettled(contexts.map((context) => context.close()))
    },
  }
}
