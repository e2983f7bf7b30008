/**
 * DOCX zip-bomb guards: the central directory is checked (entry count, total
 * declared size, per-entry ratio) and every part mammoth reads is inflated
 * under a hard cap of its declared size before mammoth opens the file.
 */
import { describe, expect, test } from 'bun:test'
import { DocumentError, extract, guardDocx, readCentralDirectory, type ZipLimits } from '../../../src/documents'
import { documentXml, makeDocx, makeZipBombDocx } from '../../helpers/documents'
import { zip } from '../../helpers/zip'

const LIMITS: ZipLimits = { maxUncompressedBytes: 200 * 1024 * 1024, maxEntries: 2000, maxRatio: 100 }

function refusal(run: () => unknown): DocumentError {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(DocumentError)
  return thrown as DocumentError
}

describe('readCentralDirectory', () => {
  test('lists every entry with its sizes', () => {
    const entries = readCentralDirectory(makeDocx(['hello']), 'a.docx', LIMITS)
    expect(entries.map((entry) => entry.name)).toEqual(['[Content_Types].xml', '_rels/.rels', 'word/document.xml', 'word/_rels/document.xml.rels'])
    for (const entry of entries) {
      expect(entry.method).toBe(8)
      expect(entry.uncompressedSize).toBeGreaterThan(entry.compressedSize)
    }
  })

  test('not a ZIP at all', () => {
    const error = refusal(() => readCentralDirectory(new TextEncoder().encode('just text'), 'a.docx', LIMITS))
    expect(error.code).toBe('document_corrupt')
  })
})

describe('zip bombs and lying archives', () => {
  test('a classic bomb (50 MiB of zeros in ~50 KB) is refused by the ratio cap, through extract()', async () => {
    const bomb = makeZipBombDocx(50)
    expect(bomb.length).toBeLessThan(200_000)
    const error = await extract(bomb, 'docx', { filename: 'bomb.docx' }).then(
      () => null,
      (thrown: unknown) => thrown as DocumentError,
    )
    expect(error).toBeInstanceOf(DocumentError)
    expect(error!.code).toBe('docx_too_large')
    expect(error!.message).toMatch(/^The DOCX "bomb\.docx" has a part that expands \d+-fold \(the limit is 100-fold\); it looks like a zip bomb\.$/)
  })

  test('more than the total uncompressed size: "The DOCX expands to more than … MB"', () => {
    const error = refusal(() => guardDocx(makeZipBombDocx(12), 'big.docx', { ...LIMITS, maxUncompressedBytes: 10 * 1024 * 1024 }))
    expect(error.code).toBe('docx_too_large')
    expect(error.message).toBe('The DOCX "big.docx" expands to more than 10 MB; that is more than any document needs.')
  })

  test('many small parts exceed the entry cap', () => {
    const extra = Array.from({ length: 30 }, (_, i) => ({ name: `word/media/${i}.bin`, data: 'x', method: 0 as const }))
    const error = refusal(() => guardDocx(makeDocx(['x'], { extra }), 'parts.docx', { ...LIMITS, maxEntries: 20 }))
    expect(error.message).toBe('The DOCX "parts.docx" holds 34 parts; the limit is 20.')
  })

  test('a part that declares a small size but inflates to more is stopped at the declared size', () => {
    const huge = documentXml(Array.from({ length: 20_000 }, () => 'the same paragraph again and again'))
    const lying = makeDocx([], { document: { data: huge, declaredSize: 4096 } })
    const error = refusal(() => guardDocx(lying, 'liar.docx', LIMITS))
    expect(error.code).toBe('docx_too_large')
    expect(error.message).toBe('The DOCX "liar.docx" expands to more than it declares; it looks like a zip bomb.')
  })

  test('a part that inflates to less than it declares is damaged', () => {
    const short = makeDocx(['x'], { document: { declaredSize: 100_000 } })
    expect(refusal(() => guardDocx(short, 'short.docx', LIMITS)).code).toBe('document_corrupt')
  })

  test('an encrypted entry (ZIP flag bit 0) is document_encrypted', () => {
    const docx = makeDocx(['x'])
    const entries = readCentralDirectory(docx, 'a.docx', LIMITS)
    const view = new DataView(docx.buffer, docx.byteOffset)
    view.setUint16(entries[2]!.localHeaderOffset + 6, 1, true)
    // The central directory's flags, which the guard reads, sit after all local entries.
    const central = docx.length - 22 - entries.reduce((sum, entry) => sum + 46 + new TextEncoder().encode(entry.name).length, 0)
    let at = central
    for (const entry of entries.slice(0, 2)) at += 46 + new TextEncoder().encode(entry.name).length
    view.setUint16(at + 8, 1, true)
    expect(refusal(() => guardDocx(docx, 'locked.docx', LIMITS)).code).toBe('document_encrypted')
  })

  test('a ZIP with no [Content_Types].xml is not a Word document', () => {
    const plain = zip([{ name: 'word/document.xml', data: documentXml(['x']) }])
    const error = refusal(() => guardDocx(plain, 'plain.docx', LIMITS))
    expect(error.code).toBe('type_mismatch')
  })

  test('media are checked by declared size only, XML parts by inflating them', () => {
    const images = Array.from({ length: 3 }, (_, i) => ({ name: `word/media/image${i}.png`, data: new Uint8Array(300_000).map((_, j) => (j * 31 + i) & 0xff) }))
    expect(() => guardDocx(makeDocx(['with pictures'], { extra: images }), 'pics.docx', LIMITS)).not.toThrow()
  })
})
