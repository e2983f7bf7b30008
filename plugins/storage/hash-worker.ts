/**
 * The hashing worker of hasher.ts: one SHA-256 per upload id, updated in the
 * order chunks were posted; each chunk's memory is freed once hashed.
 */
interface Port {
  onmessage: ((event: MessageEvent) => void) | null
  postMessage(message: unknown): void
}
const port = globalThis as unknown as Port

const hashers = new Map<number, Bun.CryptoHasher>()

port.onmessage = ({ data }: MessageEvent<{ id: number; op: 'update' | 'digest' | 'drop'; buffer?: ArrayBuffer; offset?: number; length?: number }>) => {
  const { id, op } = data
  if (op === 'update') {
    let hasher = hashers.get(id)
    if (!hasher) hashers.set(id, (hasher = new Bun.CryptoHasher('sha256')))
    hasher.update(new Uint8Array(data.buffer!, data.offset, data.length))
    data.buffer!.transfer(0) // freed now, not at this thread's next collection
  } else if (op === 'digest') {
    const hasher = hashers.get(id) ?? new Bun.CryptoHasher('sha256')
    hashers.delete(id)
    port.postMessage({ id, sha256: hasher.digest('hex') })
  } else hashers.delete(id)
}
