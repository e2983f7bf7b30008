/**
 * A small ZIP writer for test fixtures (DOCX packages and zip bombs). Each
 * entry may be stored or deflated, and may declare a size it does not have,
 * so the guards against lying archives can be exercised.
 */
import { deflateRawSync } from 'node:zlib'

export interface ZipInput {
  name: string
  data: Uint8Array | string
  /** 8 (deflate, the default) or 0 (stored). */
  method?: 0 | 8
  /** Overrides the uncompressed size written in the headers (a lying entry). */
  declaredSize?: number
}

const encoder = new TextEncoder()

/** The bytes of a ZIP archive holding `entries`, in order. */
export function zip(entries: ZipInput[]): Uint8Array {
  const locals: Uint8Array[] = []
  const centrals: Uint8Array[] = []
  let offset = 0
  for (const entry of entries) {
    const raw = typeof entry.data === 'string' ? encoder.encode(entry.data) : entry.data
    const method = entry.method ?? 8
    const body = method === 8 ? new Uint8Array(deflateRawSync(raw)) : raw
    const name = encoder.encode(entry.name)
    const crc = Bun.hash.crc32(raw)
    const size = entry.declaredSize ?? raw.length

    const local = new Uint8Array(30 + name.length)
    const lv = new DataView(local.buffer)
    lv.setUint32(0, 0x04034b50, true)
    lv.setUint16(4, 20, true)
    lv.setUint16(6, 0x0800, true)
    lv.setUint16(8, method, true)
    lv.setUint32(14, crc, true)
    lv.setUint32(18, body.length, true)
    lv.setUint32(22, size, true)
    lv.setUint16(26, name.length, true)
    local.set(name, 30)

    const central = new Uint8Array(46 + name.length)
    const cv = new DataView(central.buffer)
    cv.setUint32(0, 0x02014b50, true)
    cv.setUint16(4, 20, true)
    cv.setUint16(6, 20, true)
    cv.setUint16(8, 0x0800, true)
    cv.setUint16(10, method, true)
    cv.setUint32(16, crc, true)
    cv.setUint32(20, body.length, true)
    cv.setUint32(24, size, true)
    cv.setUint16(28, name.length, true)
    cv.setUint32(42, offset, true)
    central.set(name, 46)

    locals.push(local, body)
    centrals.push(central)
    offset += local.length + body.length
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0)
  const end = new Uint8Array(22)
  const ev = new DataView(end.buffer)
  ev.setUint32(0, 0x06054b50, true)
  ev.setUint16(8, entries.length, true)
  ev.setUint16(10, entries.length, true)
  ev.setUint32(12, centralSize, true)
  ev.setUint32(16, offset, true)
  return new Uint8Array(Buffer.concat([...locals, ...centrals, end]))
}
