/**
 * The streaming multipart reader against bodies made by the platform's own
 * FormData encoder, cut into chunks of every awkward size (a boundary split
 * across chunks, one byte at a time), binary content that nearly contains the
 * delimiter, RFC 5987 file names, and bodies that end early.
 */
import { describe, expect, test } from 'bun:test'
import { releaseChunk } from '../../../plugins/storage/stream'
import { dispositionParams, MultipartError, MultipartReader, multipartBoundary, readField, TruncatedUploadError } from '../../../src/modules/documents/multipart'

async function encode(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const response = new Response(form)
  const boundary = multipartBoundary(response.headers.get('content-type'))!
  return { bytes: new Uint8Array(await response.arrayBuffer()), boundary }
}

function chunked(bytes: Uint8Array, size: number | (() => number), failAt?: number): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (failAt !== undefined && offset >= failAt) return controller.error(new Error('connection reset'))
        if (offset >= bytes.length) return controller.close()
        const n = typeof size === 'number' ? size : size()
        controller.enqueue(bytes.slice(offset, offset + n))
        offset += n
      },
    },
    { highWaterMark: 0 },
  )
}

async function collect(reader: MultipartReader) {
  const parts: Array<{ name: string; filename: string | null; type: string | null; bytes: Uint8Array }> = []
  for (let part = await reader.next(); part; part = await reader.next())
    parts.push({ name: part.name, filename: part.filename, type: part.contentType, bytes: new Uint8Array(await new Response(part.body).arrayBuffer()) })
  return parts
}

/** Bytes that hold CR LF and dashes everywhere, the prefix of a delimiter without the boundary. */
function nasty(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = [0x0d, 0x0a, 0x2d, 0x2d, 0x2d, 0x41][i % 6]!
  return bytes
}

describe('multipart reader', () => {
  const form = new FormData()
  form.append('question', 'Was ist «neu»? ✓')
  form.append('files', new Blob([nasty(70_001) as Uint8Array<ArrayBuffer>], { type: 'application/pdf' }), 'report ✓.pdf')
  form.append('files', new Blob([]), '')
  form.append('palette_id', 'default')

  for (const size of [1, 2, 7, 64, 4096, 65_536, 1 << 20])
    test(`parts and bytes come back exactly, in chunks of ${size} bytes`, async () => {
      const { bytes, boundary } = await encode(form)
      const parts = await collect(new MultipartReader(chunked(bytes, size), boundary))
      expect(parts.map((p) => [p.name, p.filename, p.type])).toEqual([
        ['question', null, null],
        ['files', 'report ✓.pdf', 'application/pdf'],
        ['files', '', 'application/octet-stream'],
        ['palette_id', null, null],
      ])
      expect(new TextDecoder().decode(parts[0]!.bytes)).toBe('Was ist «neu»? ✓')
      expect(parts[1]!.bytes).toEqual(nasty(70_001))
      expect(parts[2]!.bytes.length).toBe(0)
    })

  // Local storage frees each piece of an upload once written (releaseChunks): nothing the reader
  // keeps may share memory with a piece it handed out, or the next piece would come back empty.
  for (const size of [7, 100, 4096, 65_536, 1 << 20])
    test(`a consumer that frees every piece once read still gets every byte, in chunks of ${size} bytes`, async () => {
      const { bytes, boundary } = await encode(form)
      const reader = new MultipartReader(chunked(bytes, size), boundary)
      const parts: Array<[string, number, string]> = []
      for (let part = await reader.next(); part; part = await reader.next()) {
        const copies: Uint8Array[] = []
        const pieces = part.body.getReader()
        for (let piece = await pieces.read(); !piece.done; piece = await pieces.read()) {
          const length = piece.value.byteLength
          copies.push(piece.value.slice())
          releaseChunk(piece.value)
          expect(piece.value.byteLength).toBe(length < Buffer.poolSize ? length : 0)
        }
        const whole = Buffer.concat(copies)
        parts.push([part.name, whole.length, new Bun.CryptoHasher('sha256').update(whole).digest('hex')])
      }
      const sha = (data: Uint8Array) => new Bun.CryptoHasher('sha256').update(data).digest('hex')
      expect(parts).toEqual([
        ['question', Buffer.byteLength('Was ist «neu»? ✓'), sha(Buffer.from('Was ist «neu»? ✓'))],
        ['files', 70_001, sha(nasty(70_001))],
        ['files', 0, sha(new Uint8Array(0))],
        ['palette_id', 7, sha(Buffer.from('default'))],
      ])
      // Small pieces may live in Node's shared Buffer pool: releasing must never have detached it.
      expect(Buffer.from('still usable').toString()).toBe('still usable')
    })

  test('random chunk sizes, and a part left unread is skipped', async () => {
    const { bytes, boundary } = await encode(form)
    let seed = 7
    const reader = new MultipartReader(chunked(bytes, () => ((seed = (seed * 48271) % 2147483647) % 3000) + 1), boundary)
    const names: string[] = []
    for (let part = await reader.next(); part; part = await reader.next()) names.push(part.name)
    expect(names).toEqual(['question', 'files', 'files', 'palette_id'])
    expect(reader.received).toBe(bytes.length)
  })

  test('a body that stops before its closing boundary fails the part being read', async () => {
    const { bytes, boundary } = await encode(form)
    const reader = new MultipartReader(chunked(bytes.slice(0, 40_000), 1000), boundary)
    await reader.next()
    const file = (await reader.next())!
    await expect(new Response(file.body).arrayBuffer()).rejects.toBeInstanceOf(TruncatedUploadError)
  })

  test('a source that errors (a cut connection) fails the part as an incomplete upload, keeping the cause', async () => {
    const { bytes, boundary } = await encode(form)
    const reader = new MultipartReader(chunked(bytes, 1000, 20_000), boundary)
    await reader.next()
    const file = (await reader.next())!
    const error = await new Response(file.body).arrayBuffer().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TruncatedUploadError)
    expect(((error as Error).cause as Error).message).toBe('connection reset')
  })

  test('garbage, a missing name and oversized headers are 400 invalid_multipart', async () => {
    const bad = (text: string) => new MultipartReader(chunked(new TextEncoder().encode(text), 5), 'XyZ')
    await expect(bad('no boundary here at all').next()).rejects.toBeInstanceOf(TruncatedUploadError)
    await expect(bad('').next()).rejects.toBeInstanceOf(MultipartError)
    await expect(bad('--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--').next()).rejects.toBeInstanceOf(MultipartError)
    await expect(bad('--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--').next()).rejects.toBeInstanceOf(MultipartError)
    await expect(bad(`--XyZ\r\nContent-Disposition: form-data; name="a"\r\nX: ${'y'.repeat(20_000)}\r\n\r\nx`).next()).rejects.toBeInstanceOf(MultipartError)
  })

  test('a preamble is skipped; readField refuses a field past its limit', async () => {
    const text = 'ignored preamble\r\n--XyZ\r\nContent-Disposition: form-data; name="q"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name="big"\r\n\r\n' + 'z'.repeat(100) + '\r\n--XyZ--\r\n'
    const reader = new MultipartReader(chunked(new TextEncoder().encode(text), 3), 'XyZ')
    expect(await readField((await reader.next())!, 10)).toBe('hello')
    await expect(readField((await reader.next())!, 10)).rejects.toMatchObject({ status: 413, code: 'field_too_large' })
    expect(await reader.next()).toBeNull()
  })

  test('boundaries and dispositions are read as browsers and curl write them', () => {
    expect(multipartBoundary('multipart/form-data; boundary=----WebKitFormBoundaryAbC')).toBe('----WebKitFormBoundaryAbC')
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"')).toBe('a b')
    expect(multipartBoundary('application/json')).toBeNull()
    expect(multipartBoundary('multipart/form-data')).toBeNull()
    expect(dispositionParams(`form-data; name="files"; filename="a \\"q\\".pdf"`)).toEqual({ name: 'files', filename: 'a "q".pdf' })
    expect(dispositionParams(`form-data; name=files; filename="fallback.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`)).toEqual({ name: 'files', filename: 'résumé.pdf' })
    expect(dispositionParams(`form-data; name="x"; filename*=UTF-8''%E0%A4%A`)).toEqual({ name: 'x' })
  })
})
