/**
 * Document fixtures made by the tests themselves: real PDFs (pdf-lib), real
 * DOCX packages (OOXML written by hand), an encrypted PDF, an executable
 * renamed .pdf, and zip bombs. `makeBenchmarkPdf` builds the 200-page PDF the
 * documents benchmark extracts.
 */
import { PDFDocument, PDFHexString, StandardFonts } from 'pdf-lib'
import { zip, type ZipInput } from './zip'

/**
 * A PDF with one page per entry of `pages`; each page's text is drawn as lines
 * (split on \n), so PDF.js reads it back in the same order.
 */
export async function makePdf(pages: string[], options: { fontSize?: number } = {}): Promise<Uint8Array> {
  const size = options.fontSize ?? 11
  const doc = await PDFDocument.create()
  doc.setTitle('Agent Council test fixture')
  doc.setCreationDate(new Date('2024-01-01T00:00:00Z'))
  doc.setModificationDate(new Date('2024-01-01T00:00:00Z'))
  const font = await doc.embedFont(StandardFonts.Helvetica)
  for (const text of pages) {
    // One multi-line drawText per page: pdf-lib is ~10x slower drawing line by line.
    if (text) doc.addPage([595, 842]).drawText(text, { x: 50, y: 800, size, font, lineHeight: size * 1.4 })
    else doc.addPage([595, 842])
  }
  return doc.save()
}

const WORDS = (
  'council agent review draft ranking budget quarter revenue growth market customer policy audit risk ' +
  'storage latency throughput document evidence citation summary analysis report forecast supplier contract ' +
  'compliance privacy retention invoice region product launch pricing margin team hiring roadmap incident'
).split(' ')

/** Deterministic filler prose: `lines` lines of about 70 characters, seeded by `seed`. */
function fillerLines(seed: number, lines: number): string[] {
  let state = seed * 2654435761 || 1
  const next = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) % WORDS.length
  }
  const out: string[] = []
  for (let i = 0; i < lines; i++) {
    const words: string[] = []
    while (words.join(' ').length < 64) words.push(WORDS[next()]!)
    out.push(`${words.join(' ')}.`)
  }
  return out
}

/**
 * A text-heavy PDF of `pageCount` pages (default 200), ~45 lines (~3,000
 * characters) a page, each page opening with "Page N of M." — the benchmark's
 * extraction input. Deterministic for a given page count.
 * @example
 * const bytes = await makeBenchmarkPdf(200)
 */
export async function makeBenchmarkPdf(pageCount = 200): Promise<Uint8Array> {
  const pages = Array.from({ length: pageCount }, (_, i) => [`Page ${i + 1} of ${pageCount}.`, ...fillerLines(i + 1, 44)].join('\n'))
  return makePdf(pages, { fontSize: 10 })
}

/** A PDF that needs a password: a Standard security handler whose empty user password does not match. */
export async function makeEncryptedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create()
  doc.addPage().drawText('Confidential', { font: await doc.embedFont(StandardFonts.Helvetica), x: 50, y: 700 })
  const encrypt = doc.context.obj({ Filter: 'Standard', V: 1, R: 2, O: PDFHexString.of('11'.repeat(32)), U: PDFHexString.of('22'.repeat(32)), P: -4 })
  doc.context.trailerInfo.Encrypt = doc.context.register(encrypt)
  doc.context.trailerInfo.ID = doc.context.obj([PDFHexString.of('ab'.repeat(16)), PDFHexString.of('ab'.repeat(16))])
  return doc.save({ useObjectStreams: false })
}

/** The start of a Windows PE executable (MZ header pointing at a PE signature), padded with code-like bytes. */
export function makeExe(size = 4096): Uint8Array {
  const bytes = new Uint8Array(size)
  bytes.set([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xff, 0xff])
  new DataView(bytes.buffer).setUint32(0x3c, 0x80, true)
  bytes.set(new TextEncoder().encode('This program cannot be run in DOS mode.'), 0x4e)
  bytes.set([0x50, 0x45, 0x00, 0x00, 0x4c, 0x01], 0x80)
  for (let i = 0x100; i < size; i++) bytes[i] = (i * 7919) & 0xff
  return bytes
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

const CONTENT_TYPES = (main: string) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="${main}"/>
</Types>`

const DOCX_MAIN = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml'

const ROOT_RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>`

const DOCUMENT_RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>`

/** word/document.xml with one <w:p> per paragraph. */
export function documentXml(paragraphs: string[]): string {
  const body = paragraphs.map((text) => `<w:p><w:r><w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r></w:p>`).join('')
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}<w:sectPr/></w:body></w:document>`
}

export interface DocxOptions {
  /** Extra parts (a bomb, many small files). */
  extra?: ZipInput[]
  /** Changes to the standard parts, e.g. a lying word/document.xml. */
  document?: Partial<ZipInput>
  /** The main part's content type; a .docm or .xlsx declares another. */
  mainContentType?: string
}

/** The parts of a DOCX, in the usual order; makeDocx zips them, tests may reorder them. */
export function docxParts(paragraphs: string[], options: DocxOptions = {}): ZipInput[] {
  return [
    { name: '[Content_Types].xml', data: CONTENT_TYPES(options.mainContentType ?? DOCX_MAIN) },
    { name: '_rels/.rels', data: ROOT_RELS },
    { name: 'word/document.xml', data: documentXml(paragraphs), ...options.document },
    { name: 'word/_rels/document.xml.rels', data: DOCUMENT_RELS },
    ...(options.extra ?? []),
  ]
}

/** A real DOCX (WordprocessingML package) with the given paragraphs; mammoth and Word open it. */
export function makeDocx(paragraphs: string[], options: DocxOptions = {}): Uint8Array {
  return zip(docxParts(paragraphs, options))
}

/** A DOCX carrying a part of `megabytes` MiB of zeros that deflates about a thousandfold. */
export function makeZipBombDocx(megabytes = 50): Uint8Array {
  return makeDocx(['A harmless looking paragraph.'], {
    extra: [{ name: 'word/media/image1.bin', data: new Uint8Array(megabytes * 1024 * 1024) }],
  })
}
