/**
 * Upload garbage, collected on schedule — for the S3 backend only. Every chunk
 * of a request body is a fresh ArrayBuffer, dead as soon as it is stored; JSC
 * collects them only when its heap grows enough, so a 25 MiB upload left
 * ~25–40 MiB of dead chunks in the server's RSS. Local storage frees each
 * chunk the moment it is written (storage put's releaseChunks), which costs
 * nothing; the S3 client consumes the stream natively, so there a full
 * collection after every UPLOAD_GC_BYTES (8 MiB) received, counted
 * process-wide and at most once per 20 ms, keeps the growth near 10 MiB at
 * the price of ~40 ms per collection on a full heap; docs/PERFORMANCE.md has
 * the figures. 0 turns it off.
 */
const MIN_INTERVAL_MS = 20

let since = 0
let last = 0

/** Counts `bytes` of upload received; collects once `everyBytes` have come in since the last collection. */
export function uploadBytesReceived(bytes: number, everyBytes: number): void {
  if (everyBytes <= 0) return
  since += bytes
  if (since < everyBytes) return
  const now = performance.now()
  if (now - last < MIN_INTERVAL_MS) return
  since = 0
  last = now
  Bun.gc(true)
}
