/** DOCX text through mammoth, after the zip-bomb guards; a "page" is about `pageChars` characters (DOCX stores no pages). */
import mammoth from 'mammoth'
import { DocumentError, quoteName } from './errors'
import { normalizeText, paginate } from './text'
import type { ExtractContext, ExtractedPage } from './types'
import { guardDocx } from './zip'

export async function extractDocx(bytes: Uint8Array, ctx: ExtractContext): Promise<ExtractedPage[]> {
  guardDocx(bytes, ctx.filename, ctx.limits.docx)
  ctx.checkpoint()
  let raw: string
  try {
    const result = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })
    raw = result.value
  } catch (error) {
    throw new DocumentError('document_corrupt', `${quoteName(ctx.filename)} is damaged and its text could not be read (${(error as Error)?.message ?? 'unknown error'}).`)
  }
  return ctx.paged(paginate(normalizeText(raw), ctx.limits.pageChars))
}
