/**
 * Text kinds: strict UTF-8 decoding, page splitting at paragraph boundaries
 * (TXT, MD and DOCX text), and CSV rows rendered as readable lines.
 */
import Papa from 'papaparse'
import { DocumentError, quoteName } from './errors'

/** Whole-file UTF-8 decode; a BOM is dropped, a malformed sequence refuses the file. */
export function decodeUtf8(bytes: Uint8Array, filename: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    throw new DocumentError('type_mismatch', `${quoteName(filename)} is not UTF-8 text; save it as UTF-8 and upload it again.`)
  }
}

/**
 * Extracted text as stored and quoted: no control characters but newline and
 * tab, no invisible format characters, spaces collapsed, at most one blank line.
 * Snippets and citation checks work on this form, so it is applied once, here.
 */
export function normalizeText(raw: string): string {
  return raw
    .replace(/\r\n?/g, '\n')
    .replace(/[\f\v\u2028\u2029]/g, '\n')
    .replace(/[\p{Cc}\p{Cf}]/gu, (char) => (char === '\n' || char === '\t' ? char : ''))
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

/** Cuts `text` (longer than `max`) at the last good boundary before `max`: a line, a sentence, a space. */
function cutPoint(text: string, max: number): number {
  const window = text.slice(0, max)
  for (const boundary of [/\n(?=[^\n]*$)/, /[.!?](?= )(?=[^.!?]*$)/, / (?=[^ ]*$)/]) {
    const match = boundary.exec(window)
    if (match && match.index > max * 0.5) return match.index + 1
  }
  return max
}

/**
 * Splits text into pages of about `pageChars` characters, breaking between
 * paragraphs (blank lines) where it can; a paragraph longer than a page is cut
 * at a line, sentence or word boundary. Input is normalised text.
 */
export function paginate(text: string, pageChars: number): string[] {
  const pages: string[] = []
  let current = ''
  const flush = () => {
    if (current.trim()) pages.push(current.trim())
    current = ''
  }
  for (let paragraph of text.split(/\n\n+/)) {
    if (current && current.length + 2 + paragraph.length > pageChars) flush()
    while (paragraph.length > pageChars) {
      flush()
      const cut = cutPoint(paragraph, pageChars)
      pages.push(paragraph.slice(0, cut).trim())
      paragraph = paragraph.slice(cut).trim()
    }
    current = current ? `${current}\n\n${paragraph}` : paragraph
  }
  flush()
  return pages
}

/**
 * CSV as text a model can read: the first row is taken as the header and each
 * later row becomes `Row n: header: value; header: value`, `rowsPerPage` rows a page.
 */
export function csvPages(text: string, rowsPerPage: number, filename: string): string[] {
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: 'greedy' })
  const rows = parsed.data
  if (rows.length === 0) return []
  const fatal = parsed.errors.find((error) => error.type === 'Quotes')
  if (fatal && rows.length <= 1)
    throw new DocumentError('document_corrupt', `${quoteName(filename)} is not valid CSV (${fatal.message} at row ${(fatal.row ?? 0) + 1}).`)
  const header = rows[0]!.map((cell, i) => normalizeText(cell) || `column ${i + 1}`)
  const lines = rows.slice(1).map((row, i) => {
    const cells = row.map((cell, c) => `${header[c] ?? `column ${c + 1}`}: ${normalizeText(cell).replace(/\n/g, ' ')}`)
    return `Row ${i + 1}: ${cells.join('; ')}`
  })
  if (lines.length === 0) return [`Columns: ${header.join('; ')}`]
  const pages: string[] = []
  for (let i = 0; i < lines.length; i += rowsPerPage) pages.push(lines.slice(i, i + rowsPerPage).join('\n'))
  return pages
}
