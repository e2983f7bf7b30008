/** Shapes shared by the extractors and their callers. */
import type { DocumentKind } from './kinds'
import type { ZipLimits } from './zip'

export interface ExtractedPage {
  /** 1-based: the PDF's page number, or the n-th ~pageChars chunk (DOCX, TXT, MD) or n-th block of rows (CSV). */
  page: number
  /** Normalised text (see normalizeText); '' for a page without text. */
  text: string
}

export interface ExtractLimits {
  /** More pages than this fails the document (too_many_pages). */
  maxPages: number
  /** Wall-clock cap for one document, reading the input included (extraction_timeout). */
  timeoutMs: number
  /** Size of a page of DOCX, TXT and MD text. */
  pageChars: number
  csvRowsPerPage: number
  /** Largest input read from a stream (document_too_large); uploads are capped before this. */
  maxInputBytes: number
  /** More extracted text than this fails the document (too_much_text). */
  maxChars: number
  docx: ZipLimits
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxPages: 1000,
  timeoutMs: 120_000,
  pageChars: 3000,
  csvRowsPerPage: 50,
  maxInputBytes: 64 * 1024 * 1024,
  maxChars: 5_000_000,
  docx: { maxUncompressedBytes: 200 * 1024 * 1024, maxEntries: 2000, maxRatio: 100 },
}

export interface ExtractProgress {
  pagesDone: number
  /** Known up front for PDF; for the other kinds it is known once the text is split. */
  pagesTotal: number
}

export interface ExtractOptions {
  /** The uploader's file name, for messages only. */
  filename: string
  limits?: Partial<ExtractLimits>
  /** The job's signal: cancelling it stops extraction (extraction_cancelled). */
  signal?: AbortSignal
  /** Called after each page; errors it throws are not caught. */
  onProgress?: (progress: ExtractProgress) => void
}

export interface ExtractResult {
  kind: DocumentKind
  pages: ExtractedPage[]
  /** Total characters over all pages. */
  chars: number
}

/** What extract() hands each extractor. */
export interface ExtractContext {
  filename: string
  limits: ExtractLimits
  /** Throws extraction_timeout or extraction_cancelled once the deadline or signal fired. */
  checkpoint(): void
  progress(done: number, total: number): void
  /** Numbers page texts from 1, enforcing the page cap and reporting progress. */
  paged(texts: string[]): ExtractedPage[]
}
