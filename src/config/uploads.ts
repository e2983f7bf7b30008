/**
 * Upload and extraction settings (SPEC §5 "Documents"), read by the one
 * configuration module (./index.ts) through its `read`, so a bad value stops
 * start-up naming the variable like every other setting.
 */
import { DOCUMENT_KINDS, type DocumentKind } from '../documents/kinds'

export interface UploadConfig {
  /** UPLOAD_MAX_FILE_BYTES: one file; more is 413 file_too_large. */
  maxFileBytes: number
  /** UPLOAD_MAX_FILES: files per session; more is 413 too_many_files. */
  maxFiles: number
  /** UPLOAD_MAX_SESSION_BYTES: all of a session's files together; more is 413 session_too_large. */
  maxSessionBytes: number
  /** UPLOAD_ALLOWED_TYPES: the allow-list, a subset of pdf, docx, txt, md, csv; others are 415 unsupported_type. */
  allowedTypes: DocumentKind[]
  /** EXTRACT_TIMEOUT_MS: wall-clock cap for reading one document in the worker. */
  extractTimeoutMs: number
  /** EXTRACT_MAX_PAGES: more pages fail the document (too_many_pages). */
  extractMaxPages: number
  /** DOCUMENTS_WAIT_MS: how long a council run waits for its documents to be read before it goes on without them. */
  documentsWaitMs: number
  /** UPLOAD_GC_BYTES: with S3 storage, collect garbage after this many upload bytes (process-wide; 0 = leave it to the runtime). Local storage frees each chunk once written instead. */
  gcBytes: number
}

type Read = <T>(name: string, fallback: T, parse: (raw: string) => T) => T

const MiB = 1024 * 1024

const bytes =
  (min: number, max: number) =>
  (raw: string): number => {
    const match = /^(\d{1,12})\s*(b|kib|kb|mib|mb|gib|gb)?$/i.exec(raw)
    const unit = { b: 1, kib: 1024, kb: 1024, mib: MiB, mb: MiB, gib: 1024 * MiB, gb: 1024 * MiB }[(match?.[2] ?? 'b').toLowerCase() as 'b']
    const value = match ? Number(match[1]) * unit : NaN
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new Error(`must be a size in bytes from ${min} to ${max} (e.g. 26214400 or 25MiB; got "${raw}")`)
    return value
  }

const whole =
  (min: number, max: number) =>
  (raw: string): number => {
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`must be a whole number from ${min} to ${max} (got "${raw}")`)
    return value
  }

const kinds = (raw: string): DocumentKind[] => {
  const wanted = raw
    .split(',')
    .map((item) => item.trim().toLowerCase().replace(/^\./, ''))
    .filter(Boolean)
  const unknown = wanted.filter((kind) => !(DOCUMENT_KINDS as readonly string[]).includes(kind))
  if (unknown.length > 0) throw new Error(`lists ${unknown.join(', ')}; allowed are ${DOCUMENT_KINDS.join(', ')}`)
  if (wanted.length === 0) throw new Error('must name at least one type (or set DISABLE_UPLOADS=true)')
  return [...new Set(wanted)] as DocumentKind[]
}

/**
 * @example
 * uploads: readUploadConfig((name, fallback, parse) => read(env, name, fallback, parse))
 */
export function readUploadConfig(read: Read): UploadConfig {
  const maxFileBytes = read('UPLOAD_MAX_FILE_BYTES', 25 * MiB, bytes(1, 4096 * MiB))
  return {
    maxFileBytes,
    maxFiles: read('UPLOAD_MAX_FILES', 10, whole(1, 1000)),
    maxSessionBytes: read('UPLOAD_MAX_SESSION_BYTES', 50 * MiB, bytes(1, 16_384 * MiB)),
    allowedTypes: read('UPLOAD_ALLOWED_TYPES', [...DOCUMENT_KINDS], kinds),
    extractTimeoutMs: read('EXTRACT_TIMEOUT_MS', 120_000, whole(100, 3_600_000)),
    extractMaxPages: read('EXTRACT_MAX_PAGES', 1000, whole(1, 100_000)),
    documentsWaitMs: read('DOCUMENTS_WAIT_MS', 15 * 60_000, whole(0, 24 * 3_600_000)),
    gcBytes: read('UPLOAD_GC_BYTES', 8 * MiB, bytes(0, 1024 * MiB)),
  }
}
