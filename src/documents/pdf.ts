/**
 * PDF text through unpdf (PDF.js built for servers, no worker thread, no eval).
 * Pages keep the PDF's own numbers, empty ones included, so `p.P` in a
 * citation is the page a reader opens. Between pages the event loop gets a
 * turn and the deadline and signal are checked; the caller's race covers a
 * single slow page.
 */
import { getDocumentProxy } from 'unpdf'
import { DocumentError, quoteName } from './errors'
import { normalizeText } from './text'
import type { ExtractContext, ExtractedPage } from './types'

interface TextItem {
  str?: string
  hasEOL?: boolean
}

function pdfFailure(error: unknown, filename: string): DocumentError {
  const name = quoteName(filename)
  const kind = (error as { name?: string } | null)?.name
  if (kind === 'PasswordException') return new DocumentError('document_encrypted', `This PDF is encrypted: ${name} needs a password to open. Remove the password and upload it again.`)
  if (kind === 'InvalidPDFException') return new DocumentError('document_corrupt', `${name} is damaged or not a real PDF; its text could not be read.`)
  return new DocumentError('document_corrupt', `The text of ${name} could not be read (${(error as Error)?.message ?? 'unknown PDF error'}).`)
}

export async function extractPdf(bytes: Uint8Array, ctx: ExtractContext): Promise<ExtractedPage[]> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>
  try {
    // PDF.js may take ownership of the buffer it is given; it gets a copy so the caller's stays usable.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, useSystemFonts: false, disableFontFace: true })
  } catch (error) {
    throw pdfFailure(error, ctx.filename)
  }
  try {
    const total = pdf.numPages
    if (total > ctx.limits.maxPages)
      throw new DocumentError('too_many_pages', `${quoteName(ctx.filename)} has ${total} pages; the limit is ${ctx.limits.maxPages}. Split it and upload the parts you need.`)
    const pages: ExtractedPage[] = []
    for (let number = 1; number <= total; number++) {
      // PDF.js settles page after page in microtasks; without a turn of the event loop no timer
      // (the deadline, a BullMQ lock renewal, a heartbeat) would run until the whole file is done.
      await new Promise((resolve) => setImmediate(resolve))
      ctx.checkpoint()
      let text: string
      try {
        const page = await pdf.getPage(number)
        const content = await page.getTextContent()
        text = (content.items as TextItem[]).map((item) => (item.str ?? '') + (item.hasEOL ? '\n' : '')).join('')
        page.cleanup()
      } catch (error) {
        throw error instanceof DocumentError ? error : pdfFailure(error, ctx.filename)
      }
      pages.push({ page: number, text: normalizeText(text) })
      ctx.progress(number, total)
    }
    return pages
  } finally {
    void pdf.loadingTask.destroy()
  }
}
