/**
 * Where a document's text lives: one object per page beside the original
 * (`<key>/page-0001`, …), written by the extraction job and read by the
 * council, the citation links and erasure.
 */
import type { DocumentRow } from '../../../db/schema'
import { childKey, parseStorageKey, type ObjectStorage, type StorageKey } from '../../../plugins/storage'
import { mapWithConcurrency } from '../../council/engine'
import type { ExtractedPage } from '../../documents'

/** The object holding the text of page `page` of a document. */
export const pageKey = (documentKey: StorageKey, page: number): StorageKey => childKey(documentKey, `page-${String(page).padStart(4, '0')}`)

/** The stored text of one page ('' for a page without text). */
export async function readPage(storage: ObjectStorage, document: Pick<DocumentRow, 'storageKey'>, page: number): Promise<string> {
  const object = await storage.get(pageKey(parseStorageKey(document.storageKey), page))
  return new Response(object.body).text()
}

/** Every page of an extracted document, read a few at a time. */
export async function readPages(storage: ObjectStorage, document: Pick<DocumentRow, 'storageKey' | 'pages'>): Promise<ExtractedPage[]> {
  const numbers = Array.from({ length: document.pages ?? 0 }, (_, i) => i + 1)
  return mapWithConcurrency(numbers, 8, async (page) => ({ page, text: await readPage(storage, document, page) }))
}
