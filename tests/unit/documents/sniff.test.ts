/**
 * sniff(): the allow-list and magic bytes agreeing with the extension
 * (SPEC §5: 415 unsupported_type / type_mismatch, messages naming the file).
 */
import { describe, expect, test } from 'bun:test'
import { DocumentError, extract, sniff, SNIFF_BYTES } from '../../../src/documents'
import { docxParts, makeDocx, makeExe, makePdf } from '../../helpers/documents'
import { zip } from '../../helpers/zip'

const text = (value: string) => new TextEncoder().encode(value)

async function refusal(head: Uint8Array, filename: string, options?: Parameters<typeof sniff>[2]): Promise<DocumentError> {
  const error = await sniff(head, filename, options).then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(DocumentError)
  return error as DocumentError
}

describe('sniff accepts', () => {
  test('a real PDF, whatever the case of its extension', async () => {
    const pdf = await makePdf(['Hello'])
    expect(await sniff(pdf, 'Report.PDF')).toEqual({ kind: 'pdf', mime: 'application/pdf' })
  })

  test('a real DOCX from its first bytes', async () => {
    const docx = makeDocx(['Hello'])
    const result = await sniff(docx.subarray(0, SNIFF_BYTES), 'notes.docx')
    expect(result).toEqual({ kind: 'docx', mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' })
  })

  test('a DOCX whose [Content_Types].xml comes last, after more than the sniffed head', async () => {
    const picture = { name: 'word/media/image1.png', data: new Uint8Array(200_000).map((_, i) => (i * 7919) & 0xff), method: 0 as const }
    const parts = docxParts(['Hello'], { extra: [picture] })
    const docx = zip([...parts.slice(1), parts[0]!])
    expect((await sniff(docx.subarray(0, SNIFF_BYTES), 'libreoffice.docx')).kind).toBe('docx')
    expect((await extract(docx, 'docx', { filename: 'libreoffice.docx' })).pages[0]!.text).toBe('Hello')
  })

  test('UTF-8 text, Markdown and CSV (BOM and accents included)', async () => {
    expect((await sniff(text('\uFEFFplain text, café ✓\n'), 'a.txt')).kind).toBe('txt')
    expect((await sniff(text('# Title\n\n- item'), 'README.md')).mime).toBe('text/markdown; charset=utf-8')
    expect((await sniff(text('name,amount\nAda,3\n'), 'data.csv')).kind).toBe('csv')
  })

  test('text that merely starts like a binary signature ("MZ", "BM", "ID3")', async () => {
    for (const start of ['MZ is a postcode area', 'BM Bank minutes', 'ID3 tags explained'])
      expect((await sniff(text(`${start}\nmore text`), 'notes.txt')).kind).toBe('txt')
  })

  test('a multi-byte character cut at the end of the head', async () => {
    const bytes = text('price: 5 €')
    expect((await sniff(bytes.subarray(0, bytes.length - 1), 'a.txt')).kind).toBe('txt')
  })
})

describe('sniff refuses', () => {
  test('an extension off the allow-list: 415 unsupported_type naming the file and the accepted types', async () => {
    const error = await refusal(text('hello'), 'photo.png')
    expect(error.status).toBe(415)
    expect(error.code).toBe('unsupported_type')
    expect(error.message).toContain('"photo.png"')
    expect(error.message).toContain('.pdf, .docx, .txt, .md, .csv')
  })

  test('no extension, and a kind this install does not allow', async () => {
    expect((await refusal(text('hello'), 'Makefile')).code).toBe('unsupported_type')
    const error = await refusal(await makePdf(['x']), 'a.pdf', { allowed: ['txt', 'md'] })
    expect(error.code).toBe('unsupported_type')
    expect(error.message).toContain('.txt, .md')
  })

  test('an .exe renamed .pdf: 415 type_mismatch saying what it is', async () => {
    const error = await refusal(makeExe(), 'invoice.pdf')
    expect(error.status).toBe(415)
    expect(error.code).toBe('type_mismatch')
    expect(error.message).toBe('"invoice.pdf" is named .pdf but its content is a Windows program, not a PDF.')
  })

  test('an .exe renamed .txt', async () => {
    const error = await refusal(makeExe(), 'readme.txt')
    expect(error.code).toBe('type_mismatch')
    expect(error.message).toContain('a Windows program')
  })

  test('a PDF renamed .docx and a DOCX renamed .pdf', async () => {
    expect((await refusal(await makePdf(['x']), 'a.docx')).message).toContain('its content is a PDF, not a Word document')
    expect((await refusal(makeDocx(['x']), 'a.pdf')).message).toContain('its content is a Word document, not a PDF')
  })

  test('any ZIP that is not a Word package: a plain zip, an Excel workbook, a macro-enabled .docm', async () => {
    const plain = zip([{ name: 'hello.txt', data: 'hi' }])
    expect((await refusal(plain, 'a.docx')).message).toContain('a ZIP archive')
    const xlsx = makeDocx(['x'], { mainContentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml' })
    expect((await refusal(xlsx, 'a.docx')).message).toContain('an Excel workbook')
    const docm = makeDocx(['x'], { mainContentType: 'application/vnd.ms-word.document.macroEnabled.main+xml' })
    expect((await refusal(docm, 'a.docx')).message).toContain('macro-enabled')
  })

  test('text with NUL bytes, invalid UTF-8 or binary noise', async () => {
    expect((await refusal(new Uint8Array([104, 105, 0, 104, 105]), 'a.csv')).message).toContain('NUL bytes')
    const ansiLog = text('\u001b[32mINFO\u001b[0m server started on port 3000, all systems nominal\n'.repeat(5))
    expect((await sniff(ansiLog, 'server.log.txt')).kind).toBe('txt')
    expect((await refusal(new Uint8Array([0x68, 0xff, 0xfe, 0x69, 0x0a]), 'a.md')).message).toContain('not UTF-8')
    const noisy = text(`ok${'\u0001\u0002\u0003'.repeat(20)}${'x'.repeat(100)}`)
    expect((await refusal(noisy, 'a.txt')).message).toContain('binary data')
  })

  test('an empty file', async () => {
    const error = await refusal(new Uint8Array(0), 'empty.txt')
    expect(error.code).toBe('empty_file')
    expect(error.message).toBe('"empty.txt" is empty.')
  })

  test('file names in messages lose control characters and quotes', async () => {
    const error = await refusal(text('x'), 'evil"\u0000\u202ename.exe')
    expect(error.message.startsWith('"evilname.exe" is not an accepted type')).toBe(true)
  })
})
