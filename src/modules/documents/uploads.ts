/**
 * Receiving uploads: a multipart body streamed part by part into storage.
 * Each file's first bytes are sniffed (allow-list and magic bytes) before
 * anything is stored; the per-file and per-session byte limits are enforced
 * while the bytes flow (storage put's maxBytes), the file count before a file
 * starts. Whatever fails — a refusal, a cut connection, a storage error —
 * deletes every object this request stored, so nothing is left behind.
 *
 * The route's parse hook (`parseUploadForm`) reads only the plain fields that
 * come before the first file, so the body schema, the CSRF check and the
 * quota see them as usual; the handler then takes the files from where the
 * hook stopped (`receiveFiles`).
 */
import { formatBytes, quoteName, sniff, SNIFF_BYTES, type DocumentKind } from '../../documents'
import { AppError, forbidden } from '../../errors'
import { newStorageKey, ObjectTooLargeError, type ObjectStorage, type StorageKey } from '../../../plugins/storage'
import type { UploadConfig } from '../../config/uploads'
import { uploadBytesReceived } from './garbage'
import { MultipartReader, multipartBoundary, readField, TruncatedUploadError, type MultipartPart } from './multipart'

/** Plain form fields (question, palette_id, …) are small; a question is at most 200,000 characters. */
const FIELD_MAX_BYTES = 1024 * 1024

interface Intake {
  reader: MultipartReader
  /** Fields read by the parse hook (before the first file) and after it. */
  fields: Record<string, string>
  /** The first file part, met by the parse hook. */
  pending: MultipartPart | null
  /** What went wrong while the hook read; the handler throws it (a parse hook's error would become a generic 400). */
  error: unknown
}

const intakes = new WeakMap<Request, Intake>()

function open(request: Request): Intake | null {
  const known = intakes.get(request)
  if (known) return known
  const boundary = multipartBoundary(request.headers.get('content-type'))
  if (!boundary || !request.body) return null
  const intake: Intake = { reader: new MultipartReader(request.body, boundary), fields: {}, pending: null, error: null }
  intakes.set(request, intake)
  return intake
}

/**
 * Elysia `parse` hook of the routes that take files: a multipart body is not
 * buffered; its leading plain fields become the body (with an empty question
 * when none came yet, so validation leaves the handler to say what is
 * missing). Other content types fall through to Elysia's parsers.
 * @example
 * app.post('/api/v1/sessions', handler, { parse: ({ request }) => parseUploadForm(request), body: CreateSessionBody })
 */
export async function parseUploadForm(request: Request): Promise<Record<string, string> | undefined> {
  const intake = open(request)
  if (!intake) return undefined
  try {
    // This runs before the caller is authenticated: the fields it reads are bounded in total, not only each.
    let total = 0
    for (let part = await intake.reader.next(); part; part = await intake.reader.next()) {
      if (part.filename !== null) {
        intake.pending = part
        break
      }
      const value = await readField(part, FIELD_MAX_BYTES)
      total += value.length
      if (total > FIELD_MAX_BYTES * 2) throw new AppError(413, 'fields_too_large', 'The form fields before the files are larger than 2 MiB together.')
      intake.fields[part.name] = value
    }
  } catch (error) {
    intake.error = error
  }
  return { question: '', ...intake.fields }
}

/** The plain fields of a multipart request read so far (before its files and after), to show a refused form again as it was sent. */
export function fieldsSent(request: Request): Record<string, string> {
  return intakes.get(request)?.fields ?? {}
}

/**
 * The `parse` hook of POST /api/v1/sessions, which takes JSON, a urlencoded
 * form or multipart: multipart as `parseUploadForm`, the others parsed here
 * the way Elysia would (a malformed JSON body is a 400). Listed with the
 * content types after it, so the OpenAPI document names all three.
 * @example
 * parse: [({ request }) => parseSessionForm(request), 'json', 'urlencoded', 'multipart/form-data']
 */
export async function parseSessionForm(request: Request): Promise<unknown> {
  const multipart = await parseUploadForm(request)
  if (multipart) return multipart
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'application/json') {
    const text = await request.text()
    return text ? JSON.parse(text) : {}
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(await request.text()))
  return undefined
}

export interface ReceivedFile {
  key: StorageKey
  /** For display only: the client's name without any path, control characters or excess length. */
  filename: string
  kind: DocumentKind
  mime: string
  bytes: number
  sha256: string
}

export interface ReceiveOptions {
  storage: ObjectStorage
  limits: UploadConfig
  /** Files and bytes the session already holds. */
  used: { files: number; bytes: number }
  /** DISABLE_UPLOADS: the first file part is refused with 403 uploads_disabled. */
  disabled: boolean
  /** Called before the first file is stored; may throw (the form's acknowledgement, a web search refusal). */
  beforeFirstFile?: (fields: Record<string, string>) => void | Promise<void>
  signal?: AbortSignal
}

/** "C:\\Users\\a\\Q3 report.pdf" → "Q3 report.pdf": no path, no control or invisible characters, at most 200 characters. */
export function displayName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  const clean = base
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '')
    .replace(/\s+/g, ' ')
    .trim()
  if (clean.length <= 200) return clean
  const dot = clean.lastIndexOf('.')
  const extension = dot > 0 && clean.length - dot <= 11 ? clean.slice(dot) : ''
  return `${clean.slice(0, 200 - extension.length - 1)}…${extension}`
}

export const uploadsDisabled = () =>
  forbidden('Document uploads are disabled on this server (DISABLE_UPLOADS=true); send the question without files.', 'uploads_disabled')

/** The first `want` bytes of a part (fewer when it is shorter), and whether that was all of it. */
async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>, want: number): Promise<{ head: Uint8Array; done: boolean }> {
  const chunks: Uint8Array[] = []
  let size = 0
  while (size < want) {
    const { done, value } = await reader.read()
    if (done) return { head: new Uint8Array(Buffer.concat(chunks)), done: true }
    chunks.push(value)
    size += value.byteLength
  }
  return { head: new Uint8Array(Buffer.concat(chunks)), done: false }
}

/** The sniffed head, then the rest of the part, pulled only as storage writes. */
function rejoin(head: Uint8Array, done: boolean, reader: ReadableStreamDefaultReader<Uint8Array>, gcBytes: number): ReadableStream<Uint8Array> {
  let sentHead = head.byteLength === 0
  let finished = done
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sentHead) {
          sentHead = true
          controller.enqueue(head)
          return
        }
        if (finished) return controller.close()
        const chunk = await reader.read()
        if (chunk.done) {
          finished = true
          controller.close()
        } else {
          uploadBytesReceived(chunk.value.byteLength, gcBytes)
          controller.enqueue(chunk.value)
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  )
}

function tooLarge(code: 'file_too_large' | 'too_many_files' | 'session_too_large', message: string) {
  return new AppError(413, code, message)
}

/** Null for the empty part a browser sends for a file input left empty (no name, no bytes). */
async function receiveOne(part: MultipartPart, options: ReceiveOptions & { first: boolean; fields: Record<string, string> }): Promise<ReceivedFile | null> {
  const { limits, used, storage } = options
  const filename = displayName(part.filename ?? '')
  const reader = part.body.getReader()
  const { head, done } = await readHead(reader, SNIFF_BYTES)
  if (filename === '' && head.byteLength === 0 && done) return null
  if (options.disabled) throw uploadsDisabled()
  if (options.first) await options.beforeFirstFile?.(options.fields)
  const name = quoteName(filename)
  if (used.files + 1 > limits.maxFiles)
    throw tooLarge('too_many_files', `${name} would be file ${used.files + 1} of this session; the limit is ${limits.maxFiles} files per session.`)
  const { kind, mime } = await sniff(head, filename, { allowed: limits.allowedTypes })
  const room = limits.maxSessionBytes - used.bytes
  const sessionFull = () =>
    tooLarge(
      'session_too_large',
      `${name} would take this session's documents over the limit of ${formatBytes(limits.maxSessionBytes)} (${limits.maxSessionBytes} bytes) in total; ${formatBytes(Math.max(0, room))} are left.`,
    )
  if (room <= 0) throw sessionFull()
  const maxBytes = Math.min(limits.maxFileBytes, room)
  const key = newStorageKey('documents')
  // Local storage frees each chunk as soon as it is written (releaseChunks), so nothing waits for a
  // collection; the S3 client consumes the stream natively and cannot, so there collections are paced.
  const gcBytes = storage.backend === 'local' ? 0 : limits.gcBytes
  try {
    const stored = await storage.put(key, rejoin(head, done, reader, gcBytes), { contentType: mime, maxBytes, signal: options.signal, releaseChunks: true })
    return { key, filename, kind, mime, bytes: stored.bytes, sha256: stored.sha256 }
  } catch (error) {
    await reader.cancel().catch(() => {})
    if (!(error instanceof ObjectTooLargeError)) throw error
    if (maxBytes < limits.maxFileBytes) throw sessionFull()
    throw tooLarge('file_too_large', `${name} is larger than the limit of ${formatBytes(limits.maxFileBytes)} (${limits.maxFileBytes} bytes) per file.`)
  }
}

/**
 * Streams every file of the request's multipart body into storage and
 * returns them with every plain field (leading and trailing). On any failure
 * the objects already stored are deleted, the rest of the body is read and
 * dropped (bounded), and the error is rethrown.
 * @throws 403 uploads_disabled, 413 file_too_large / too_many_files / session_too_large,
 *   415 unsupported_type / type_mismatch, 422 empty_file, 400 invalid_multipart / upload_incomplete
 * @example
 * const { files, fields } = await receiveFiles(request, { storage, limits: config.uploads, used, disabled: false })
 */
export async function receiveFiles(request: Request, options: ReceiveOptions): Promise<{ files: ReceivedFile[]; fields: Record<string, string> }> {
  const intake = open(request)
  if (!intake) return { files: [], fields: {} }
  const files: ReceivedFile[] = []
  const used = { ...options.used }
  try {
    if (intake.error) throw intake.error
    let part = intake.pending ?? (await intake.reader.next())
    intake.pending = null
    for (; part; part = await intake.reader.next()) {
      if (part.filename === null) {
        intake.fields[part.name] = await readField(part, FIELD_MAX_BYTES)
        continue
      }
      const file = await receiveOne(part, { ...options, used, first: files.length === 0, fields: intake.fields })
      if (!file) continue
      files.push(file)
      used.files += 1
      used.bytes += file.bytes
    }
    return { files, fields: intake.fields }
  } catch (error) {
    await discard(options.storage, files)
    // The client went away mid-body: an incomplete upload (400 in the logs), not a server fault.
    if (options.signal?.aborted && !(error instanceof AppError)) throw Object.assign(new TruncatedUploadError(), { cause: error })
    await intake.reader.discardRest({ maxBytes: options.limits.maxSessionBytes + FIELD_MAX_BYTES, timeoutMs: 5000 })
    throw error
  }
}

/** Deletes stored uploads (a refusal, or a database write that failed after the bytes were stored). */
export async function discard(storage: ObjectStorage, files: readonly { key: StorageKey }[]): Promise<void> {
  await Promise.allSettled(files.map((file) => storage.delete(file.key)))
}
