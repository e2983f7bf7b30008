/**
 * extract(): real PDFs and DOCX made by the tests, CSV and text paging, the
 * page, text and time caps, cancellation, progress, streams, and the messages
 * a user reads when a document cannot be read.
 */
import { describe, expect, test } from 'bun:test'
import { DocumentError, extract, type ExtractOptions, type ExtractProgress } from '../../../src/documents'
import { makeBenchmarkPdf, makeDocx, makeEncryptedPdf, makePdf } from '../../helpers/documents'

const text = (value: string) => new TextEncoder().encode(value)

async function failure(promise: Promise<unknown>): Promise<DocumentError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(DocumentError)
  return error as DocumentError
}

const streamOf = (bytes: Uint8Array, chunk = 1000) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunk) controller.enqueue(bytes.subarray(i, i + chunk))
      controller.close()
    },
  })

describe('PDF', () => {
  test('a multi-page PDF comes back page by page, with the PDF page numbers and progress', async () => {
    const pdf = await makePdf([
      'Quarterly report\nRevenue grew by 7 percent in the third quarter.',
      '',
      'Costs fell by 3 percent.\nThe council recommends expanding to Norway.',
    ])
    const progress: ExtractProgress[] = []
    const result = await extract(pdf, 'pdf', { filename: 'q3.pdf', onProgress: (p) => progress.push(p) })
    expect(result.kind).toBe('pdf')
    expect(result.pages).toEqual([
      { page: 1, text: 'Quarterly report\nRevenue grew by 7 percent in the third quarter.' },
      { page: 2, text: '' },
      { page: 3, text: 'Costs fell by 3 percent.\nThe council recommends expanding to Norway.' },
    ])
    expect(result.chars).toBe(result.pages.reduce((sum, page) => sum + page.text.length, 0))
    expect(progress).toEqual([1, 2, 3].map((pagesDone) => ({ pagesDone, pagesTotal: 3 })))
  })

  test('the caller keeps its buffer (PDF.js gets a copy)', async () => {
    const pdf = await makePdf(['one'])
    const before = pdf.length
    await extract(pdf, 'pdf', { filename: 'a.pdf' })
    expect(pdf.length).toBe(before)
    expect((await extract(pdf, 'pdf', { filename: 'a.pdf' })).pages[0]!.text).toBe('one')
  })

  test('an encrypted PDF: "This PDF is encrypted"', async () => {
    const error = await failure(extract(await makeEncryptedPdf(), 'pdf', { filename: 'secret.pdf' }))
    expect(error.code).toBe('document_encrypted')
    expect(error.message).toStartWith('This PDF is encrypted: "secret.pdf" needs a password')
    expect(error.retryable).toBe(false)
  })

  test('a damaged PDF (cut short, or not a PDF at all)', async () => {
    const pdf = await makePdf(['text'])
    for (const bytes of [pdf.subarray(0, 300), text('%PDF-1.7 nothing else')]) {
      const error = await failure(extract(bytes, 'pdf', { filename: 'broken.pdf' }))
      expect(error.code).toBe('document_corrupt')
      expect(error.message).toContain('"broken.pdf"')
    }
  })

  test('a PDF without text: no_text, saying OCR is not supported', async () => {
    const error = await failure(extract(await makePdf(['', '']), 'pdf', { filename: 'scan.pdf' }))
    expect(error.code).toBe('no_text')
    expect(error.message).toContain('scanned images')
  })

  test('the page cap refuses before reading any page', async () => {
    const progress: ExtractProgress[] = []
    const pdf = await makePdf(['a', 'b', 'c', 'd'])
    const error = await failure(extract(pdf, 'pdf', { filename: 'long.pdf', limits: { maxPages: 3 }, onProgress: (p) => progress.push(p) }))
    expect(error.code).toBe('too_many_pages')
    expect(error.message).toBe('"long.pdf" has 4 pages; the limit is 3. Split it and upload the parts you need.')
    expect(progress).toEqual([])
  })

  test('the 200-page benchmark PDF extracts completely, each page opening with its number', async () => {
    const pdf = await makeBenchmarkPdf(200)
    const result = await extract(pdf, 'pdf', { filename: 'bench.pdf' })
    expect(result.pages).toHaveLength(200)
    expect(result.pages[199]!.text).toStartWith('Page 200 of 200.')
    expect(result.chars).toBeGreaterThan(200 * 2500)
  }, 60_000)

  test('the time cap stops a long extraction with extraction_timeout', async () => {
    const pdf = await makeBenchmarkPdf(60)
    const started = performance.now()
    const error = await failure(extract(pdf, 'pdf', { filename: 'slow.pdf', limits: { timeoutMs: 30 } }))
    expect(error.code).toBe('extraction_timeout')
    expect(error.retryable).toBe(true)
    expect(error.message).toContain('"slow.pdf" took longer than')
    expect(performance.now() - started).toBeLessThan(5000)
  }, 30_000)

  test("the job's signal cancels extraction between pages", async () => {
    const controller = new AbortController()
    const options: ExtractOptions = {
      filename: 'a.pdf',
      signal: controller.signal,
      onProgress: ({ pagesDone }) => {
        if (pagesDone === 2) controller.abort()
      },
    }
    const error = await failure(extract(await makePdf(['1', '2', '3', '4']), 'pdf', options))
    expect(error.code).toBe('extraction_cancelled')
  })
})

describe('DOCX', () => {
  test('a real DOCX: paragraphs become text, split into pages of about pageChars', async () => {
    const paragraphs = ['Board minutes, March.', 'The board approved the budget for the Oslo office.', ...Array.from({ length: 30 }, (_, i) => `Paragraph ${i + 1} ${'lorem '.repeat(15).trim()}.`)]
    const result = await extract(makeDocx(paragraphs), 'docx', { filename: 'minutes.docx', limits: { pageChars: 1000 } })
    expect(result.pages[0]!.text).toStartWith('Board minutes, March.\n\nThe board approved the budget for the Oslo office.')
    expect(result.pages.length).toBeGreaterThan(2)
    for (const page of result.pages) expect(page.text.length).toBeLessThanOrEqual(1000)
    expect(result.pages.map((page) => page.page)).toEqual(result.pages.map((_, i) => i + 1))
    const joined = result.pages.map((page) => page.text).join('\n\n')
    for (const paragraph of paragraphs) expect(joined).toContain(paragraph)
  })

  test('a ZIP without a Word main part is refused before mammoth opens it', async () => {
    const xlsx = makeDocx(['x'], { mainContentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml' })
    const error = await failure(extract(xlsx, 'docx', { filename: 'book.docx' }))
    expect(error.code).toBe('type_mismatch')
    expect(error.message).toBe('"book.docx" is a ZIP archive but not a Word document.')
  })

  test('a truncated DOCX is document_corrupt', async () => {
    const docx = makeDocx(['hello'])
    const error = await failure(extract(docx.subarray(0, docx.length - 30), 'docx', { filename: 'cut.docx' }))
    expect(error.code).toBe('document_corrupt')
    expect(error.message).toContain('was the upload cut short?')
  })
})

describe('text kinds', () => {
  test('TXT splits at paragraph boundaries into pages of about pageChars', async () => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => `Paragraph ${i + 1}. ${'word '.repeat(30).trim()}.`)
    const result = await extract(text(paragraphs.join('\n\n')), 'txt', { filename: 'a.txt', limits: { pageChars: 500 } })
    for (const page of result.pages) {
      expect(page.text.length).toBeLessThanOrEqual(500)
      expect(page.text).toMatch(/^Paragraph \d+\./)
    }
    expect(result.pages.map((page) => page.text).join('\n\n')).toBe(paragraphs.join('\n\n'))
  })

  test('a paragraph longer than a page is cut at sentence or word boundaries, losing nothing', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i + 1} is here.`).join(' ')
    const result = await extract(text(long), 'md', { filename: 'a.md', limits: { pageChars: 200 } })
    expect(result.pages.length).toBeGreaterThan(4)
    for (const page of result.pages) {
      expect(page.text.length).toBeLessThanOrEqual(200)
      expect(page.text).toMatch(/^Sentence number \d+/)
    }
    expect(result.pages.map((page) => page.text).join(' ')).toBe(long)
  })

  test('CRLF, control characters and runs of blank lines are normalised', async () => {
    const result = await extract(text('Title\r\n\r\n\r\n\r\nBody\u0007 text\u200b  here\t\tend'), 'txt', { filename: 'a.txt' })
    expect(result.pages).toEqual([{ page: 1, text: 'Title\n\nBody text here end' }])
  })

  test('CSV rows become labelled lines, csvRowsPerPage rows a page', async () => {
    const csv = 'city,population,"note, quoted"\nOslo,709000,capital\r\nBergen,291000,"rainy, west"\nTromsø,77000,north\n\n'
    const result = await extract(text(csv), 'csv', { filename: 'cities.csv', limits: { csvRowsPerPage: 2 } })
    expect(result.pages).toEqual([
      { page: 1, text: 'Row 1: city: Oslo; population: 709000; note, quoted: capital\nRow 2: city: Bergen; population: 291000; note, quoted: rainy, west' },
      { page: 2, text: 'Row 3: city: Tromsø; population: 77000; note, quoted: north' },
    ])
  })

  test('invalid UTF-8 beyond the sniffed head is refused with a clear message', async () => {
    const bytes = new Uint8Array([...text('fine so far '.repeat(10)), 0xc3, 0x28])
    const error = await failure(extract(bytes, 'txt', { filename: 'latin1.txt' }))
    expect(error.code).toBe('type_mismatch')
    expect(error.message).toBe('"latin1.txt" is not UTF-8 text; save it as UTF-8 and upload it again.')
  })

  test('whitespace only is no_text; more pages than the cap is too_many_pages; too much text is too_much_text', async () => {
    expect((await failure(extract(text(' \n\n \t'), 'txt', { filename: 'blank.txt' }))).code).toBe('no_text')
    const many = Array.from({ length: 20 }, () => 'x'.repeat(90)).join('\n\n')
    const error = await failure(extract(text(many), 'txt', { filename: 'many.txt', limits: { pageChars: 100, maxPages: 5 } }))
    expect(error.code).toBe('too_many_pages')
    expect(error.message).toContain('makes 20 pages of text; the limit is 5')
    expect((await failure(extract(text(many), 'txt', { filename: 'm.txt', limits: { maxChars: 1000 } }))).code).toBe('too_much_text')
  })
})

describe('input', () => {
  test('a stream is read whole, up to maxInputBytes', async () => {
    const pdf = await makePdf(['streamed page'])
    expect((await extract(streamOf(pdf), 'pdf', { filename: 's.pdf' })).pages[0]!.text).toBe('streamed page')
    const error = await failure(extract(streamOf(text('x'.repeat(5000))), 'txt', { filename: 'big.txt', limits: { maxInputBytes: 4096 } }))
    expect(error.code).toBe('document_too_large')
    expect(error.message).toBe('"big.txt" is larger than 4 KB.')
  })

  test('an already-aborted signal refuses at once', async () => {
    const error = await failure(extract(text('hello'), 'txt', { filename: 'a.txt', signal: AbortSignal.abort() }))
    expect(error.code).toBe('extraction_cancelled')
  })
})
