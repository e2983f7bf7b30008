/**
 * A streaming multipart/form-data reader (RFC 7578): parts come one at a
 * time, each body a ReadableStream pulled straight from the request body, so a
 * 25 MiB file passes through in chunks and is never held whole. Nothing is
 * read ahead of the consumer (highWaterMark 0); the only bytes kept between
 * reads are a tail shorter than the boundary. Elysia's own parser reads the
 * whole body into a FormData first, which is why uploads use this instead.
 */
import { AppError } from '../../errors'

export class MultipartError extends AppError {
  constructor(message: string) {
    super(400, 'invalid_multipart', message)
    this.name = 'MultipartError'
  }
}

/** The body ended before its closing boundary: the client stopped sending (or cut the connection). */
export class TruncatedUploadError extends AppError {
  constructor() {
    super(400, 'upload_incomplete', 'The upload ended before all of it arrived; nothing was kept. Send it again.')
    this.name = 'TruncatedUploadError'
  }
}

export interface MultipartPart {
  /** The form field's name. */
  name: string
  /** The file name as the client sent it (null for a plain field; '' for an empty file input). */
  filename: string | null
  contentType: string | null
  /** The part's bytes; read it to the end (or cancel it) before asking for the next part. */
  body: ReadableStream<Uint8Array>
}

export interface MultipartLimits {
  /** Bytes of one part's header block (default 16 KiB). */
  maxHeaderBytes?: number
  /** Parts in one body (default 1000). */
  maxParts?: number
}

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | null | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType.trim())) return null
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType)
  return match ? (match[1] ?? match[2]!) : null
}

export const isMultipart = (request: Request) => multipartBoundary(request.headers.get('content-type')) !== null

/** `form-data; name="files"; filename="a.pdf"` → its parameters, with RFC 5987 `filename*` decoded. */
export function dispositionParams(value: string): Record<string, string> {
  const params: Record<string, string> = {}
  for (const match of value.matchAll(/;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    const key = match[1]!.toLowerCase()
    // Browsers send backslashes as they are (a Windows path); only curl-style \" is an escape.
    const raw = match[2] !== undefined ? match[2].replace(/\\"/g, '"') : match[3]!.trim()
    if (key.endsWith('*')) {
      const encoded = /^([\w-]+)'[^']*'(.*)$/.exec(raw)
      try {
        if (encoded && /^utf-8$/i.test(encoded[1]!)) params[key.slice(0, -1)] = decodeURIComponent(encoded[2]!)
      } catch {
        // A malformed extended value: the plain parameter, if any, stands.
      }
    } else params[key] ??= raw
  }
  return params
}

const EMPTY = Buffer.alloc(0)
const CRLF = Buffer.from('\r\n')
const HEADER_END = Buffer.from('\r\n\r\n')
const MAX_PREAMBLE = 64 * 1024

/**
 * @example
 * const reader = new MultipartReader(request.body!, multipartBoundary(request.headers.get('content-type'))!)
 * for (let part = await reader.next(); part; part = await reader.next()) await storage.put(key, part.body)
 */
export class MultipartReader {
  private readonly source: ReadableStreamDefaultReader<Uint8Array>
  private readonly dashBoundary: Buffer
  private readonly delimiter: Buffer
  private buffer: Buffer = EMPTY
  private ended = false
  private state: 'preamble' | 'delimiter' | 'body' | 'done' = 'preamble'
  private parts = 0
  private readonly maxHeaderBytes: number
  private readonly maxParts: number
  /** Bytes taken from the source so far (for audit and logs). */
  received = 0

  constructor(source: ReadableStream<Uint8Array>, boundary: string, { maxHeaderBytes = 16 * 1024, maxParts = 1000 }: MultipartLimits = {}) {
    this.source = source.getReader()
    this.dashBoundary = Buffer.from(`--${boundary}`)
    this.delimiter = Buffer.from(`\r\n--${boundary}`)
    this.maxHeaderBytes = maxHeaderBytes
    this.maxParts = maxParts
  }

  /** Appends the next chunk of the source; false at its end. */
  private async fill(): Promise<boolean> {
    const chunk = await this.read()
    if (!chunk) return false
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    return true
  }

  /** The next chunk of the source (null at its end); a cut connection is an incomplete upload. */
  private async read(): Promise<Buffer | null> {
    if (this.rest) {
      const rest = this.rest
      this.rest = null
      if (rest.length > 0) return rest
    }
    if (this.ended) return null
    let result: Awaited<ReturnType<typeof this.source.read>>
    try {
      result = await this.source.read()
    } catch (error) {
      // The client cut the connection (or the body stream failed): the upload is incomplete, not a server fault.
      this.ended = true
      throw Object.assign(new TruncatedUploadError(), { cause: error })
    }
    const { done, value } = result
    if (done) {
      this.ended = true
      return null
    }
    this.received += value.byteLength
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  }

  private async need(bytes: number): Promise<void> {
    while (this.buffer.length < bytes) if (!(await this.fill())) throw new TruncatedUploadError()
  }

  /**
   * The next piece of the current part's body, or null at its end (the
   * delimiter is consumed then). Never returns bytes that could be the start
   * of the delimiter. What it keeps after handing a piece out (a tail shorter
   * than the delimiter, the rest of a chunk after one) is copied, so a piece
   * shares no memory with the reader: its consumer may release it once used
   * (storage put's releaseChunks).
   */
  private async bodyChunk(): Promise<Buffer | null> {
    for (;;) {
      const at = this.buffer.indexOf(this.delimiter)
      if (at >= 0) {
        const last = this.buffer.subarray(0, at)
        this.buffer = Buffer.from(this.buffer.subarray(at + this.delimiter.length))
        this.state = 'delimiter'
        if (last.length > 0) {
          // The end is known; hand over the last bytes, and report the end on the next call.
          this.pendingEnd = true
          return last
        }
        return null
      }
      const safe = this.buffer.length - (this.delimiter.length - 1)
      if (safe > 0) {
        const chunk = this.buffer.subarray(0, safe)
        this.buffer = Buffer.from(this.buffer.subarray(safe))
        return chunk
      }
      const tail = this.buffer
      const chunk = await this.read()
      if (!chunk) throw new TruncatedUploadError()
      if (tail.length === 0 || chunk.length < this.delimiter.length) {
        // Small chunks (a trickling client) are joined; only then can a delimiter span more than two reads.
        this.buffer = tail.length === 0 ? chunk : Buffer.concat([tail, chunk])
        continue
      }
      // Only the few bytes left over could start a delimiter that runs into the new chunk: look at
      // that seam alone instead of copying every chunk behind the tail (copies doubled the garbage of an upload).
      const seam = Buffer.concat([tail, chunk.subarray(0, this.delimiter.length - 1)])
      const across = seam.indexOf(this.delimiter)
      if (across >= 0 && across < tail.length) {
        this.buffer = Buffer.concat([tail, chunk.subarray(0, across + this.delimiter.length - tail.length)])
        this.rest = chunk.subarray(across + this.delimiter.length - tail.length)
        continue
      }
      this.buffer = chunk
      return tail
    }
  }
  /** Bytes read past a delimiter found in a seam, handed back by read() first. */
  private rest: Buffer | null = null
  private pendingEnd = false

  /** Reads and drops the rest of the current part's body. */
  private async skipBody(): Promise<void> {
    while (this.state === 'body' || this.pendingEnd) {
      if (this.pendingEnd) {
        this.pendingEnd = false
        return
      }
      if ((await this.bodyChunk()) === null) return
    }
  }

  private current: { done: boolean } | null = null

  /** The next part, or null after the closing boundary. Whatever is left of the previous part's body is skipped. */
  async next(): Promise<MultipartPart | null> {
    if (this.current && !this.current.done) {
      this.current.done = true
      await this.skipBody()
    }
    this.current = null
    if (this.state === 'done') return null
    if (this.state === 'preamble') await this.skipPreamble()

    // After a boundary: "--" closes the body; otherwise optional padding, then CRLF and the headers.
    await this.need(2)
    if (this.buffer[0] === 0x2d && this.buffer[1] === 0x2d) {
      this.state = 'done'
      return null
    }
    let start = 0
    for (;;) {
      while (start < this.buffer.length && (this.buffer[start] === 0x20 || this.buffer[start] === 0x09)) start++
      if (start + 2 <= this.buffer.length) break
      if (start > 64) throw new MultipartError('The multipart body has a malformed boundary line.')
      await this.need(start + 2)
    }
    if (!this.buffer.subarray(start, start + 2).equals(CRLF)) throw new MultipartError('The multipart body has a malformed boundary line.')
    this.buffer = this.buffer.subarray(start + 2)

    if (++this.parts > this.maxParts) throw new MultipartError(`The form has more than ${this.maxParts} parts.`)
    let headerText = ''
    await this.need(2)
    if (this.buffer.subarray(0, 2).equals(CRLF)) this.buffer = this.buffer.subarray(2)
    else {
      let end = this.buffer.indexOf(HEADER_END)
      while (end < 0) {
        if (this.buffer.length > this.maxHeaderBytes) throw new MultipartError('A part of the form has too many header bytes.')
        if (!(await this.fill())) throw new TruncatedUploadError()
        end = this.buffer.indexOf(HEADER_END)
      }
      if (end > this.maxHeaderBytes) throw new MultipartError('A part of the form has too many header bytes.')
      headerText = this.buffer.subarray(0, end).toString('utf8')
      this.buffer = this.buffer.subarray(end + HEADER_END.length)
    }
    const headers = new Map<string, string>()
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':')
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
    }
    const disposition = headers.get('content-disposition') ?? ''
    if (!/^form-data\b/i.test(disposition)) throw new MultipartError('A part of the form has no Content-Disposition: form-data header.')
    const params = dispositionParams(disposition)
    if (params.name === undefined) throw new MultipartError('A part of the form has no field name.')

    this.state = 'body'
    const state = { done: false }
    this.current = state
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (this.pendingEnd) {
            this.pendingEnd = false
            state.done = true
            controller.close()
            return
          }
          const chunk = await this.bodyChunk()
          if (chunk === null) {
            state.done = true
            controller.close()
          } else controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        },
      },
      { highWaterMark: 0 },
    )
    return { name: params.name, filename: params.filename ?? null, contentType: headers.get('content-type') ?? null, body }
  }

  private async skipPreamble(): Promise<void> {
    for (;;) {
      const at = this.buffer.indexOf(this.dashBoundary)
      if (at === 0 || (at >= 2 && this.buffer.subarray(at - 2, at).equals(CRLF))) {
        this.buffer = this.buffer.subarray(at + this.dashBoundary.length)
        this.state = 'delimiter'
        return
      }
      if (this.buffer.length > MAX_PREAMBLE) throw new MultipartError('The multipart body does not start with its boundary.')
      if (!(await this.fill())) {
        if (this.received === 0) throw new MultipartError('The multipart body is empty.')
        throw new TruncatedUploadError()
      }
    }
  }

  /**
   * Reads and drops what is left of the request (at most `maxBytes`, for at
   * most `timeoutMs`), so a client that is still sending gets the refusal
   * instead of a reset connection; then releases the source.
   */
  async discardRest({ maxBytes, timeoutMs }: { maxBytes: number; timeoutMs: number }): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let dropped = 0
    try {
      while (!this.ended && dropped < maxBytes && Date.now() < deadline) {
        const read = this.source.read()
        const result = await Promise.race([read, Bun.sleep(Math.max(1, deadline - Date.now())).then(() => null)])
        if (!result || result.done) break
        dropped += result.value.byteLength
      }
    } catch {
      // The client went away: nothing left to read.
    }
    this.buffer = EMPTY
    this.state = 'done'
    await this.source.cancel().catch(() => {})
  }
}

/** A field's value as text, refused past `maxBytes`. */
export async function readField(part: MultipartPart, maxBytes: number): Promise<string> {
  const reader = part.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw new AppError(413, 'field_too_large', `The form field "${part.name.slice(0, 40)}" is larger than ${maxBytes} bytes.`)
    }
    chunks.push(chunk.value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
