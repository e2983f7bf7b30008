/**
 * Bodies for storage tests: deterministic pseudo-random streams of any size,
 * made chunk by chunk (never whole in memory), that can fail or stall midway.
 */
export const MiB = 1024 * 1024

export interface PatternOptions {
  chunkBytes?: number
  /** Seed of the xorshift sequence; the same seed gives the same bytes. */
  seed?: number
  /** Error the stream once this many bytes were delivered. */
  failAfter?: number
  /** Stop delivering (never resolve a pull) once this many bytes were delivered. */
  stallAfter?: number
  /** Told how many bytes were delivered so far, after each chunk. */
  onProgress?: (delivered: number) => void
}

/** `total` bytes of xorshift32 output, pulled lazily. */
export function patternStream(total: number, options: PatternOptions = {}): ReadableStream<Uint8Array> {
  const { chunkBytes = 64 * 1024, seed = 0x9e3779b9, failAfter, stallAfter, onProgress } = options
  let state = seed >>> 0 || 1
  let delivered = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (failAfter !== undefined && delivered >= failAfter) {
          controller.error(new Error('the source broke midway'))
          return
        }
        if (stallAfter !== undefined && delivered >= stallAfter) return new Promise<void>(() => {})
        if (delivered >= total) {
          controller.close()
          return
        }
        const bytes = Math.min(chunkBytes, total - delivered)
        const words = new Uint32Array(Math.ceil(bytes / 4))
        for (let i = 0; i < words.length; i++) {
          state ^= state << 13
          state ^= state >>> 17
          state ^= state << 5
          words[i] = state >>> 0
        }
        delivered += bytes
        controller.enqueue(new Uint8Array(words.buffer, 0, bytes))
        onProgress?.(delivered)
      },
    },
    { highWaterMark: 0 },
  )
}

/** SHA-256 (hex) and length of a stream, read chunk by chunk. */
export async function digestStream(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; sha256: string }> {
  const hasher = new Bun.CryptoHasher('sha256')
  let bytes = 0
  const reader = stream.getReader()
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    hasher.update(chunk.value)
    bytes += chunk.value.byteLength
  }
  return { bytes, sha256: hasher.digest('hex') }
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

export const sha256Of = (bytes: Uint8Array | string) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex')

/** Settles to the thrown error (fails the test if the promise resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection, got a result')
}
