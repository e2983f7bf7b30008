/** The document types the product accepts (SPEC §5 allow-list) and how each is named. */
export const DOCUMENT_KINDS = ['pdf', 'docx', 'txt', 'md', 'csv'] as const
export type DocumentKind = (typeof DOCUMENT_KINDS)[number]

/** The MIME type stored with a document and sent back on download. */
export const MIME_TYPES: Record<DocumentKind, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
}

const EXTENSIONS: Record<string, DocumentKind> = {
  pdf: 'pdf',
  docx: 'docx',
  txt: 'txt',
  text: 'txt',
  md: 'md',
  markdown: 'md',
  csv: 'csv',
}

/** "Q3 Report.PDF" → "pdf"; null for anything outside the allow-list (or no extension). */
export function kindOfFilename(filename: string): DocumentKind | null {
  const match = /\.([A-Za-z0-9]{1,10})$/.exec(filename.trim())
  return match ? (EXTENSIONS[match[1]!.toLowerCase()] ?? null) : null
}

export const isTextKind = (kind: DocumentKind): kind is 'txt' | 'md' | 'csv' => kind === 'txt' || kind === 'md' || kind === 'csv'
