/**
 * extract(): the worker's entry to text extraction. It reads the input (bytes
 * or a stream, capped), runs the extractor for the kind under a deadline and
 * the job's signal, and enforces the page and text caps. Every failure is a
 * DocumentError whose message can be shown to the uploader as it is.
 */
import { extractDocx } from './docx'
import { DocumentError, formatBytes, quoteName } from './errors'
import type { DocumentKind } from './kinds'
import { extractPdf } from './pdf'
import { csvPages, decodeUtf8, normalizeText, paginate } from './text'
import { DEFAULT_EXTRACT_LIMITS, type ExtractContext, type ExtractedPage, type ExtractLimits, type ExtractOptions, type ExtractResult } from './types'

async function readAll(stream: ReadableStream<Uint8Array>, max: number, filename: string, signal: AbortSignal): Promise<Uint8Array> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > max) throw new DocumentError('document_too_large', `${quoteName(filename)} is larger than ${formatBytes(max)}.`)
      chunks.push(value)
    }
  } catch (error) {
    await reader.cancel().catch(() => {})
    throw error
  }
  return new Uint8Array(Buffer.concat(chunks))
}

function extractText(bytes: Uint8Array, kind: 'txt' | 'md' | 'csv', ctx: ExtractContext): ExtractedPage[] {
  const text = decodeUtf8(bytes, ctx.filename)
  if (kind === 'csv') return ctx.paged(csvPages(text, ctx.limits.csvRowsPerPage, ctx.filename))
  return ctx.paged(paginate(normalizeText(text), ctx.limits.pageChars))
}

/**
 * Extracts the text of one document, page by page.
 * @throws DocumentError document_encrypted ("This PDF is encrypted…"), document_corrupt,
 *   docx_too_large (zip-bomb guards), too_many_pages, too_much_text, no_text,
 *   type_mismatch (not UTF-8), document_too_large (stream over maxInputBytes),
 *   extraction_timeout, extraction_cancelled
 * @example
 * const { pages, chars } = await extract(await storage.get(key), 'pdf', {
 *   filename: doc.filename, signal, onProgress: ({ pagesDone, pagesTotal }) => job.progress(pagesDone / pagesTotal),
 * })
 */
export async function extract(
  input: Uint8Array | ReadableStream<Uint8Array>,
  kind: DocumentKind,
  { filename, limits: overrides, signal, onProgress }: ExtractOptions,
): Promise<ExtractResult> {
  const limits: ExtractLimits = { ...DEFAULT_EXTRACT_LIMITS, ...overrides, docx: { ...DEFAULT_EXTRACT_LIMITS.docx, ...overrides?.docx } }
  const name = quoteName(filename)
  const deadlineAt = performance.now() + limits.timeoutMs
  const deadline = AbortSignal.timeout(limits.timeoutMs)
  const stop = signal ? AbortSignal.any([deadline, signal]) : deadline
  const stopped = (): DocumentError =>
    signal?.aborted
      ? new DocumentError('extraction_cancelled', `Reading ${name} was cancelled.`)
      : new DocumentError('extraction_timeout', `Reading ${name} took longer than ${Math.round(limits.timeoutMs / 1000)} s; it was stopped. A smaller or simpler file may work.`)

  const ctx: ExtractContext = {
    filename,
    limits,
    checkpoint() {
      // The clock as well as the signal: a timer cannot fire while synchronous work holds the loop.
      if (stop.aborted || performance.now() > deadlineAt) throw stopped()
    },
    progress(done, total) {
      onProgress?.({ pagesDone: done, pagesTotal: total })
    },
    paged(texts) {
      if (texts.length > limits.maxPages)
        throw new DocumentError('too_many_pages', `${name} makes ${texts.length} pages of text; the limit is ${limits.maxPages}. Split it and upload the parts you need.`)
      return texts.map((text, i) => {
        ctx.checkpoint()
        ctx.progress(i + 1, texts.length)
        return { page: i + 1, text }
      })
    },
  }

  const work = async (): Promise<ExtractedPage[]> => {
    const bytes = input instanceof Uint8Array ? input : await readAll(input, limits.maxInputBytes, filename, stop)
    ctx.checkpoint()
    if (bytes.length === 0) throw new DocumentError('empty_file', `${name} is empty.`)
    if (kind === 'pdf') return extractPdf(bytes, ctx)
    if (kind === 'docx') return extractDocx(bytes, ctx)
    return extractText(bytes, kind, ctx)
  }

  // The race bounds work that cannot look at the signal itself (one slow PDF page, mammoth).
  let onStop: () => void = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onStop = () => reject(stopped())
    stop.addEventListener('abort', onStop, { once: true })
  })
  let pages: ExtractedPage[]
  try {
    if (stop.aborted) throw stopped()
    pages = await Promise.race([work(), aborted])
  } catch (error) {
    if (error instanceof DocumentError) throw error
    if (stop.aborted) throw stopped()
    throw new DocumentError('document_corrupt', `The text of ${name} could not be read (${(error as Error)?.message ?? 'unknown error'}).`)
  } finally {
    stop.removeEventListener('abort', onStop)
    aborted.catch(() => {})
  }

  const chars = pages.reduce((sum, page) => sum + page.text.length, 0)
  if (chars === 0)
    throw new DocumentError(
      'no_text',
      kind === 'pdf'
        ? `${name} has no text layer (it may be scanned images); text recognition (OCR) is not supported, so the council cannot read it.`
        : `${name} contains no text.`,
    )
  if (chars > limits.maxChars)
    throw new DocumentError('too_much_text', `${name} holds ${chars.toLocaleString('en')} characters of text; the limit is ${limits.maxChars.toLocaleString('en')}.`)
  return { kind, pages, chars }
}
