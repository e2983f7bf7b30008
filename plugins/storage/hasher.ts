/**
 * SHA-256 of an upload on a worker thread, so the request's thread only
 * parses, writes and hands each chunk over: hashing 25 MiB costs ~15 ms of
 * CPU that would otherwise sit between the body's chunks. A chunk the caller
 * owns (storage put's releaseChunks) is transferred, not copied, and freed by
 * the worker as soon as it is hashed; anything else is copied first. One
 * worker per process serves every upload (messages carry the upload's id, and
 * arrive in the order they were posted); it does not keep the process alive.
 */
import { canHandOver } from './stream'

interface Digested {
  id: number
  sha256: string
}

let worker: Worker | null = null
let nextId = 1
const waiting = new Map<number, { resolve: (sha256: string) => void; reject: (error: unknown) => void }>()

function hashWorker(): Worker {
  if (worker) return worker
  const started = new Worker(new URL('./hash-worker.ts', import.meta.url))
  ;(started as unknown as { unref(): void }).unref()
  started.onmessage = ({ data }: MessageEvent<Digested>) => {
    waiting.get(data.id)?.resolve(data.sha256)
    waiting.delete(data.id)
  }
  started.onerror = (event) => {
    // The next upload starts a new worker; every digest this one owed fails its put.
    worker = null
    for (const { reject } of waiting.values()) reject(new Error(`the hashing worker failed: ${event.message}`))
    waiting.clear()
  }
  worker = started
  return started
}

export interface StreamHasher {
  /** Hashes `chunk` after whatever came before. With `owned`, the chunk's memory moves to the worker (its views here become empty). */
  update(chunk: Uint8Array, owned: boolean): void
  /** The hex digest of everything updated; the hasher is finished afterwards. */
  digest(): Promise<string>
  /** Forgets the upload (a failed put). */
  drop(): void
}

/**
 * @example
 * const hasher = offThreadHasher()
 * for await (const chunk of body) { writeSync(fd, chunk); hasher.update(chunk, true) }
 * const sha256 = await hasher.digest()
 */
export function offThreadHasher(): StreamHasher {
  const id = nextId++
  const target = hashWorker()
  return {
    update(chunk, owned) {
      if (chunk.byteLength === 0) return
      const moving = owned && canHandOver(chunk) ? chunk : chunk.slice()
      target.postMessage({ id, op: 'update', buffer: moving.buffer, offset: moving.byteOffset, length: moving.byteLength }, [moving.buffer])
    },
    digest() {
      return new Promise<string>((resolve, reject) => {
        waiting.set(id, { resolve, reject })
        target.postMessage({ id, op: 'digest' })
      })
    },
    drop() {
      waiting.delete(id)
      target.postMessage({ id, op: 'drop' })
    },
  }
}
