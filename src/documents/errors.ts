/**
 * Why a document was refused or could not be read. Upload refusals keep the
 * codes and statuses of SPEC §5 (415 unsupported_type / type_mismatch); the
 * extraction codes are what the worker stores on a failed document, and every
 * message is a sentence the uploader understands, naming the file.
 */
import { AppError } from '../errors'

export type DocumentErrorCode =
  | 'unsupported_type'
  | 'type_mismatch'
  | 'empty_file'
  | 'document_too_large'
  | 'document_encrypted'
  | 'document_corrupt'
  | 'docx_too_large'
  | 'too_many_pages'
  | 'too_much_text'
  | 'no_text'
  | 'extraction_timeout'
  | 'extraction_cancelled'

const STATUS: Record<DocumentErrorCode, number> = {
  unsupported_type: 415,
  type_mismatch: 415,
  empty_file: 422,
  document_too_large: 413,
  document_encrypted: 422,
  document_corrupt: 422,
  docx_too_large: 422,
  too_many_pages: 422,
  too_much_text: 422,
  no_text: 422,
  extraction_timeout: 422,
  extraction_cancelled: 422,
}

export class DocumentError extends AppError {
  constructor(
    override readonly code: DocumentErrorCode,
    message: string,
  ) {
    super(STATUS[code], code, message)
    this.name = 'DocumentError'
  }

  /** Worth trying again later (a time cap under load, a cancelled job); every other failure is the file itself. */
  get retryable(): boolean {
    return this.code === 'extraction_timeout' || this.code === 'extraction_cancelled'
  }
}

/** `"report.pdf"`, with control characters and overlong names tamed for messages. */
export function quoteName(filename: string): string {
  const clean = filename.replace(/[\p{Cc}\p{Cf}"]+/gu, '').trim() || 'the file'
  return `"${clean.length > 80 ? `${clean.slice(0, 77)}…` : clean}"`
}

/** 26214400 → "25 MB"; byte counts in messages are for people. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} bytes`
}
