/**
 * Zip-bomb guards for DOCX, run before mammoth (JSZip) inflates anything.
 * The central directory is read first: entry count, the sum of declared
 * uncompressed sizes and each large entry's compression ratio are capped, and
 * [Content_Types].xml must declare a Word main document. Declared sizes can lie, so every
 * entry the raw-text extraction reads (.xml and .rels parts) is then inflated
 * once with a hard output cap of its declared size: a lie, or a bomb, stops
 * at that cap instead of filling memory. Binary parts (images) are never
 * inflated for raw text, so only their declared sizes count.
 */
import { inflateRawSync } from 'node:zlib'
import { DocumentError, formatBytes, quoteName } from './errors'

export interface ZipLimits {
  /** Sum of the declared uncompressed sizes of all entries. */
  maxUncompressedBytes: number
  maxEntries: number
  /** Uncompressed ÷ compressed, checked for entries larger than 1 MiB uncompressed. */
  maxRatio: number
}

export interface ZipEntry {
  name: string
  method: number
  flags: number
  compressedSize: number
  uncompressedSize: number
  localHeaderOffset: number
}

const EOCD_SIGNATURE = 0x06054b50
const CENTRAL_SIGNATURE = 0x02014b50
const LOCAL_SIGNATURE = 0x04034b50
const RATIO_FLOOR_BYTES = 1024 * 1024

const corrupt = (name: string, why: string) => new DocumentError('document_corrupt', `${name} is damaged and cannot be read (${why}).`)

/** The entries of a ZIP's central directory, after the count, size and ratio caps. */
export function readCentralDirectory(bytes: Uint8Array, filename: string, limits: ZipLimits): ZipEntry[] {
  const name = quoteName(filename)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let eocd = -1
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE) {
      eocd = at
      break
    }
  }
  if (eocd < 0) throw corrupt(name, 'no ZIP directory at its end; was the upload cut short?')
  const count = view.getUint16(eocd + 10, true)
  const size = view.getUint32(eocd + 12, true)
  const offset = view.getUint32(eocd + 16, true)
  if (view.getUint16(eocd + 4, true) !== 0 || count !== view.getUint16(eocd + 8, true))
    throw corrupt(name, 'a multi-part ZIP archive')
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff)
    throw new DocumentError('docx_too_large', `The DOCX ${name} uses ZIP64, which only archives far beyond our limits need.`)
  if (count > limits.maxEntries)
    throw new DocumentError('docx_too_large', `The DOCX ${name} holds ${count} parts; the limit is ${limits.maxEntries}.`)
  if (offset + size > eocd) throw corrupt(name, 'its ZIP directory points outside the file')

  const entries: ZipEntry[] = []
  let total = 0
  let at = offset
  const decoder = new TextDecoder()
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || view.getUint32(at, true) !== CENTRAL_SIGNATURE) throw corrupt(name, 'a broken ZIP directory entry')
    const nameLength = view.getUint16(at + 28, true)
    const entry: ZipEntry = {
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      compressedSize: view.getUint32(at + 20, true),
      uncompressedSize: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
      name: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength)),
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true)
    total += entry.uncompressedSize
    if (total > limits.maxUncompressedBytes)
      throw new DocumentError('docx_too_large', `The DOCX ${name} expands to more than ${formatBytes(limits.maxUncompressedBytes)}; that is more than any document needs.`)
    if (entry.uncompressedSize > RATIO_FLOOR_BYTES && entry.uncompressedSize > limits.maxRatio * Math.max(1, entry.compressedSize))
      throw new DocumentError(
        'docx_too_large',
        `The DOCX ${name} has a part that expands ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}-fold (the limit is ${limits.maxRatio}-fold); it looks like a zip bomb.`,
      )
    entries.push(entry)
  }
  return entries
}

/** The stored or deflated bytes of one entry, inflated to at most its declared size. */
function inflateEntry(bytes: Uint8Array, entry: ZipEntry, filename: string): Uint8Array {
  const name = quoteName(filename)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const at = entry.localHeaderOffset
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) throw corrupt(name, `a broken ZIP entry "${entry.name}"`)
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true)
  const data = bytes.subarray(start, start + entry.compressedSize)
  if (data.length !== entry.compressedSize) throw corrupt(name, `the ZIP entry "${entry.name}" is cut short`)
  if (entry.flags & 1)
    throw new DocumentError('document_encrypted', `The DOCX ${name} is password-protected; remove the password and upload it again.`)
  let out: Uint8Array
  if (entry.method === 0) out = data
  else if (entry.method === 8) {
    try {
      out = inflateRawSync(data, { maxOutputLength: Math.max(1, entry.uncompressedSize) })
    } catch (error) {
      if (error instanceof RangeError)
        throw new DocumentError('docx_too_large', `The DOCX ${name} expands to more than it declares; it looks like a zip bomb.`)
      throw corrupt(name, `the ZIP entry "${entry.name}" does not decompress`)
    }
  } else throw corrupt(name, `the ZIP entry "${entry.name}" uses compression method ${entry.method}`)
  if (out.length !== entry.uncompressedSize) throw corrupt(name, `the ZIP entry "${entry.name}" is not the size it declares`)
  return out
}

/** What [Content_Types].xml declares for the main part of a .docx (a .docm or .dotx declares another). */
const WORD_MAIN_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml'

/** Parts the raw-text extraction reads; everything else (media, fonts) JSZip leaves compressed. */
const isReadPart = (entryName: string) => /\.(xml|rels)$/i.test(entryName)

/**
 * Checks a DOCX before mammoth opens it.
 * @throws DocumentError docx_too_large (caps, a lying or bomb entry), document_corrupt,
 *   document_encrypted, type_mismatch (a ZIP that is not a Word package)
 * @example
 * guardDocx(bytes, 'notes.docx', { maxUncompressedBytes: 100 * 2 ** 20, maxEntries: 2000, maxRatio: 100 })
 */
export function guardDocx(bytes: Uint8Array, filename: string, limits: ZipLimits): void {
  const entries = readCentralDirectory(bytes, filename, limits)
  const contentTypes = entries.find((entry) => entry.name === '[Content_Types].xml')
  const declared = contentTypes ? new TextDecoder().decode(inflateEntry(bytes, contentTypes, filename)) : ''
  if (!declared.includes(WORD_MAIN_CONTENT_TYPE))
    throw new DocumentError('type_mismatch', `${quoteName(filename)} is a ZIP archive but not a Word document.`)
  for (const entry of entries) if (isReadPart(entry.name)) inflateEntry(bytes, entry, filename)
}
