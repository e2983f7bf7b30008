/**
 * Upload-time type check: the extension must be on the allow-list and the
 * first bytes must agree with it. PDF and DOCX are recognised by `file-type`
 * (for a ZIP it reads [Content_Types].xml, so only a word-processing OOXML
 * package counts as DOCX — not any ZIP, not .docm, not an encrypted Office
 * file); text kinds must be UTF-8 without NUL bytes and with hardly any
 * control characters. The extractor checks the rest (the whole file's UTF-8, the DOCX
 * central directory) once the file is stored.
 */
import { fileTypeFromBuffer, type FileTypeResult } from 'file-type'
import { DocumentError, quoteName } from './errors'
import { DOCUMENT_KINDS, isTextKind, kindOfFilename, MIME_TYPES, type DocumentKind } from './kinds'

/** How much of the file's start sniff wants: enough for a DOCX's [Content_Types].xml entry. */
export const SNIFF_BYTES = 64 * 1024

export interface SniffResult {
  kind: DocumentKind
  mime: string
}

export interface SniffOptions {
  /** The kinds this install accepts; default all of DOCUMENT_KINDS. */
  allowed?: readonly DocumentKind[]
}

const NAMES: Record<string, string> = {
  exe: 'a Windows program',
  elf: 'a Linux program',
  mach: 'a macOS program',
  zip: 'a ZIP archive',
  cfb: 'a password-protected or legacy Office file (.doc, .xls)',
  pdf: 'a PDF',
  docx: 'a Word document',
  docm: 'a macro-enabled Word document (.docm)',
  xlsx: 'an Excel workbook',
  pptx: 'a PowerPoint presentation',
  png: 'a PNG image',
  jpg: 'a JPEG image',
  gif: 'a GIF image',
  webp: 'a WebP image',
  gz: 'a gzip archive',
  '7z': 'a 7-Zip archive',
  rar: 'a RAR archive',
  html: 'an HTML page',
}

const describe = (detected: FileTypeResult | undefined): string =>
  detected ? (NAMES[detected.ext] ?? `a .${detected.ext} file`) : 'neither a PDF nor a Word document'

const LABELS: Record<DocumentKind, string> = { pdf: 'a PDF', docx: 'a Word document (.docx)', txt: 'text', md: 'Markdown text', csv: 'CSV text' }

/** C0 controls other than tab, newline, form feed and carriage return. */
const isControl = (byte: number) => byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d

/** Null when `head` reads as UTF-8 text; otherwise why not. A sequence cut at the end of `head` is fine. */
function textProblem(head: Uint8Array): string | null {
  let controls = 0
  for (const byte of head) {
    if (byte === 0) return 'it contains NUL bytes (binary data)'
    if (isControl(byte)) controls++
  }
  // Some control characters are normal (ANSI colours in a log); random binary has about 11 %.
  if (head.length > 0 && controls / head.length > 0.05) return 'it contains binary data'
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true })
  } catch {
    return 'it is not UTF-8 text (save it as UTF-8 and upload it again)'
  }
  return null
}

/**
 * Decides what an upload is from its name and first bytes (give it the first
 * SNIFF_BYTES, or the whole file when smaller).
 * @throws DocumentError unsupported_type (415) for an extension off the allow-list,
 *   type_mismatch (415) when the content is not what the extension says, empty_file (422).
 * @example
 * const { kind, mime } = await sniff(firstChunk, 'report.pdf')
 */
export async function sniff(head: Uint8Array, filename: string, { allowed = DOCUMENT_KINDS }: SniffOptions = {}): Promise<SniffResult> {
  const name = quoteName(filename)
  const kind = kindOfFilename(filename)
  if (!kind || !allowed.includes(kind))
    throw new DocumentError(
      'unsupported_type',
      `${name} is not an accepted type; upload one of: ${allowed.map((k) => `.${k}`).join(', ')}.`,
    )
  if (head.length === 0) throw new DocumentError('empty_file', `${name} is empty.`)

  const detected = await fileTypeFromBuffer(head)
  if (isTextKind(kind)) {
    // The bytes decide: file-type also "recognises" text that merely starts with "MZ", "BM" or "ID3";
    // what it says only names a binary format in the message.
    const problem = textProblem(head)
    if (problem)
      throw new DocumentError('type_mismatch', `${name} does not contain ${LABELS[kind]}: ${detected ? `it is ${describe(detected)}` : problem}.`)
    return { kind, mime: MIME_TYPES[kind] }
  }
  if (detected?.ext !== kind)
    throw new DocumentError('type_mismatch', `${name} is named .${kind} but its content is ${describe(detected)}, not ${LABELS[kind]}.`)
  return { kind, mime: MIME_TYPES[kind] }
}
