/**
 * End to end: documents in the browser, on the real server (embedded
 * defaults, in-process jobs). A member picks a PDF and a DOCX on
 * /sessions/new; the acknowledgement becomes required once files are chosen
 * (the browser will not submit without it); with it ticked the session is
 * created, the documents are listed with type, size and status while the
 * worker reads them, and the council's answer cites them as links that open
 * the cited page's text. Screenshots at 390 and 1440 px. With
 * DISABLE_UPLOADS=true the upload field is not there at all. No page raises a
 * console error, an uncaught exception or a CSP violation.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { launchBrowser } from '../helpers/browser'
import { makeDocx, makePdf } from '../helpers/documents'
import { expectStatus, pageTools } from '../helpers/e2e'
import { startServer, type RunningServer } from '../helpers/server'

const TEST_TIMEOUT_MS = 90_000
const SCREENSHOT_DIR = process.env.E2E_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'council-e2e-shots-'))
const uniqueEmail = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}@example.com`
const isFaviconNoise = (line: string) => line.includes('/favicon.ico')

let server: RunningServer
let disabled: RunningServer
let browser: Browser
const tools = pageTools(() => server, () => browser)
const disabledTools = pageTools(() => disabled, () => browser)

beforeAll(async () => {
  ;[server, disabled, browser] = await Promise.all([
    startServer({ env: { LLM_OFFLINE_LATENCY_MS: '150' } }),
    startServer({ env: { DISABLE_UPLOADS: 'true' } }),
    launchBrowser(),
  ])
}, TEST_TIMEOUT_MS)

afterAll(async () => {
  await tools.closeContexts()
  await disabledTools.closeContexts()
  await browser?.close()
  await server?.stop()
  await disabled?.stop()
}, TEST_TIMEOUT_MS)

describe('documents in the browser', () => {
  test(
    'upload with the acknowledgement, watch the documents being read, and follow a citation to the page it cites',
    () =>
      tools.withServerLog(async () => {
        const { page, problems, offsite } = await tools.openPage()
        await tools.logIn(page, uniqueEmail('reader'))
        await page.goto(`${server.url}/sessions/new`)
        const form = page.locator('form#new-session')
        expect(await form.getAttribute('enctype')).toBe('multipart/form-data')
        expect(await page.locator('#upload-limits').textContent()).toContain('Up to 10 files, 25 MB each and 50 MB in total')

        await form.locator('textarea[name="question"]').fill('What drove revenue growth in the third quarter?')
        await form.locator('input[type="file"][name="files"]').setInputFiles([
          {
            name: 'q3-report.pdf',
            mimeType: 'application/pdf',
            buffer: Buffer.from(
              await makePdf([
                'Quarterly report for the board. Revenue growth reached twelve percent in the third quarter, driven by the new pricing plans.',
                'Hiring slowed in the second half.',
              ]),
            ),
          },
          {
            name: 'board-minutes.docx',
            mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
            buffer: Buffer.from(makeDocx(['The board noted that third quarter revenue growth came mostly from enterprise customers.'])),
          },
        ])
        await page.setViewportSize({ width: 390, height: 844 })
        await form.screenshot({ path: join(SCREENSHOT_DIR, 'documents-new-session-390.png') })
        await page.setViewportSize({ width: 1280, height: 900 })
        // Files chosen: the acknowledgement is now required, and the browser keeps the form until it is ticked.
        const ack = form.locator('input[name="acknowledge_uploads"]')
        expect(await ack.evaluate((box: HTMLInputElement) => box.required)).toBe(true)
        let posts = 0
        page.on('request', (request) => {
          if (request.method() === 'POST' && new URL(request.url()).pathname === '/sessions') posts++
        })
        await form.locator('[type="submit"]').click()
        await page.waitForTimeout(300)
        expect(posts).toBe(0)
        expect(await ack.evaluate((box: HTMLInputElement) => box.validity.valueMissing)).toBe(true)

        await ack.check()
        const posted = page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === '/sessions')
        await form.locator('[type="submit"]').click()
        const response = await posted
        await expectStatus(response, 200)
        const sessionId = response.headers()['hx-location']!.split('/').pop()!
        await page.waitForURL((url) => url.pathname === `/sessions/${sessionId}`)

        const documents = page.locator('#documents')
        await documents.waitFor()
        expect(await documents.locator('.document-name').allTextContents()).toEqual(['q3-report.pdf', 'board-minutes.docx'])
        // The list refreshes itself until both are read.
        await page.locator('#documents tr.document.extracted').nth(1).waitFor({ timeout: 30_000 })
        expect(await documents.textContent()).toContain('2 pages read')

        await page.locator('#synthesis').waitFor({ timeout: 45_000 })
        const links = page.locator('#synthesis a.citation.verified')
        expect(await links.count()).toBe(2)
        // One line per cited page, naming everyone who cited it.
        expect(await page.locator('#citations li.citation-item.verified').count()).toBe(2)
        expect(await page.locator('#citations li.citation-item').first().textContent()).toContain('(synthesis)')
        await page.locator('#citations').scrollIntoViewIfNeeded()
        await page.setViewportSize({ width: 1440, height: 900 })
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'documents-citations-1440.png'), fullPage: true })
        await page.setViewportSize({ width: 390, height: 844 })
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'documents-citations-390.png'), fullPage: true })
        // The document list and the citations fit a 390 px screen.
        for (const section of ['#documents', '#citations'])
          expect(await page.locator(section).evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true)
        await page.locator('#documents').screenshot({ path: join(SCREENSHOT_DIR, 'documents-list-390.png') })
        await page.locator('#citations').screenshot({ path: join(SCREENSHOT_DIR, 'documents-citations-list-390.png') })

        const first = links.first()
        const label = (await first.textContent())!.trim()
        await first.click()
        await page.waitForURL((url) => url.pathname.startsWith(`/sessions/${sessionId}/documents/`))
        const text = (await page.locator('pre.page-text').textContent()) ?? ''
        expect(label).toMatch(/^\[doc:\d p\.\d\]$/)
        expect(text).toMatch(/Revenue growth reached twelve percent|enterprise customers/)
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'documents-cited-page-390.png'), fullPage: true })

        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
        expect(offsite).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )

  test(
    'with DISABLE_UPLOADS=true the form has no upload field and the API refuses files',
    () =>
      disabledTools.withServerLog(async () => {
        const { page, problems } = await disabledTools.openPage()
        await disabledTools.logIn(page, uniqueEmail('no-uploads'))
        await page.goto(`${disabled.url}/sessions/new`)
        await page.locator('form#new-session textarea[name="question"]').waitFor()
        expect(await page.locator('input[type="file"]').count()).toBe(0)
        expect(await page.locator('#upload-field').count()).toBe(0)
        expect(await page.locator('form#new-session').getAttribute('enctype')).toBeNull()
        await page.setViewportSize({ width: 390, height: 844 })
        await page.screenshot({ path: join(SCREENSHOT_DIR, 'documents-uploads-disabled-390.png'), fullPage: true })
        const form = new FormData()
        form.append('question', 'With a file?')
        form.append('files', new Blob(['text']), 'a.txt')
        const refused = await fetch(`${disabled.url}/api/v1/sessions`, { method: 'POST', headers: { 'x-user-id': uniqueEmail('api') }, body: form })
        expect(refused.status).toBe(403)
        expect((await refused.json()).error.code).toBe('uploads_disabled')
        expect(problems.all().filter((line) => !isFaviconNoise(line))).toEqual([])
      }),
    TEST_TIMEOUT_MS,
  )
})
