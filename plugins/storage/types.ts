/**
 * The storage plugin's contract (SPEC §3). Objects are bytes under opaque keys
 * (keys.ts); bodies travel as streams both ways and are never held whole in
 * memory. Every backend passes tests/unit/storage-contract.test.ts (local, and
 * a real S3-compatible server the test starts).
 */
import { AppError } from '../../src/errors'
import type { StorageKey, StorageListPrefix } from './keys'

/** A body to store: a stream (an upload's request body) or bytes already in memory (extracted text). */
export type ObjectBody = ReadableStream<Uint8Array> | Uint8Array | string

export interface PutOptions {
  /** Stored with the object and returned by get/stat; default application/octet-stream. */
  contentType?: string
  /** More bytes than this fails the put with ObjectTooLargeError and stores nothing. */
  maxBytes?: number
  /** Aborting fails the put (with the signal's reason) and stores nothing. */
  signal?: AbortSignal
  /**
   * The stream's chunks are handed over: a backend that writes them itself
   * (local) frees each one's memory (detaches its ArrayBuffer) as soon as it
   * is written, instead of leaving it for the garbage collector. Only for a
   * source whose chunks share no memory with anything still in use (the
   * multipart reader guarantees this for the file parts it hands out).
   */
  releaseChunks?: boolean
}

interface PutResult {
  key: StorageKey
  bytes: number
  /** Hex SHA-256 of the bytes stored, computed while they streamed through. */
  sha256: string
}

/** Bytes `start` to `end`, both inclusive, as in an HTTP Range header; `end` past the object is clamped to its last byte. */
export interface ByteRange {
  start: number
  end?: number
}

interface GetOptions {
  range?: ByteRange
}

export interface ObjectInfo {
  key: StorageKey
  /** Size of the whole object in bytes. */
  size: number
  lastModified: Date
  /** The backend's entity tag, quotes removed, when it has one (S3). */
  etag?: string
}

export interface ObjectStat extends ObjectInfo {
  contentType: string
}

interface StoredObject extends ObjectStat {
  /** The requested bytes (the whole object without a range). The caller must consume or cancel it. */
  body: ReadableStream<Uint8Array>
  /** The bytes in `body`, inclusive; present when a range was asked for. */
  range?: { start: number; end: number }
  /** Bytes in `body`. */
  length: number
}

export interface ObjectStorage {
  readonly backend: 'local' | 's3'
  /**
   * Stores a body under `key`, replacing any object there. Readers see the old
   * object or the new one, never a part: a put that fails — the source stream
   * errors, the signal aborts, maxBytes is passed, the backend fails — leaves
   * what was there before (or nothing) and no partial object.
   */
  put(key: StorageKey, body: ObjectBody, options?: PutOptions): Promise<PutResult>
  /** The object, or a range of it, as a stream. Throws ObjectNotFoundError or RangeNotSatisfiableError. */
  get(key: StorageKey, options?: GetOptions): Promise<StoredObject>
  /** Metadata without the body; null when there is no such object. */
  stat(key: StorageKey): Promise<ObjectStat | null>
  /** Removes the object; removing one that is not there succeeds. */
  delete(key: StorageKey): Promise<void>
  /** Every object under a prefix (`documents`) or below a key, in key order, fetched page by page. */
  list(prefix: StorageListPrefix): AsyncIterable<ObjectInfo>
  close(): Promise<void>
}

export class ObjectNotFoundError extends AppError {
  constructor(readonly key: string) {
    super(404, 'not_found', 'The stored object was not found.')
    this.name = 'ObjectNotFoundError'
  }
}

export class RangeNotSatisfiableError extends AppError {
  constructor(range: ByteRange, size: number) {
    super(416, 'range_not_satisfiable', `Bytes ${range.start}–${range.end ?? ''} are outside the object (${size} bytes).`, {
      'content-range': `bytes */${size}`,
    })
    this.name = 'RangeNotSatisfiableError'
  }
}

/** The upload route turns this into 413 `file_too_large` naming the file. */
export class ObjectTooLargeError extends AppError {
  constructor(readonly limit: number) {
    super(413, 'file_too_large', `The object is larger than the limit of ${limit} bytes.`)
    this.name = 'ObjectTooLargeError'
  }
}

/** The backend could not be reached or refused the request (credentials, bucket, disk). */
export class StorageUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, 'storage_unavailable', message)
    this.name = 'StorageUnavailableError'
    if (options?.cause !== undefined) this.cause = options.cause
  }
}
