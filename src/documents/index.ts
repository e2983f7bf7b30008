/**
 * Documents as a library: upload sniffing, text extraction with guards,
 * BM25 snippet selection, citation parsing and verification, and the
 * wrapping of untrusted text for prompts. No database, no storage, no routes:
 * the uploads module, the extraction job and the council call these.
 */
export { DocumentError, formatBytes, quoteName, type DocumentErrorCode } from './errors'
export { DOCUMENT_KINDS, isTextKind, kindOfFilename, MIME_TYPES, type DocumentKind } from './kinds'
export { sniff, SNIFF_BYTES, textProblem, type SniffOptions, type SniffResult } from './sniff'
export { extract } from './extract'
export { csvPages, decodeUtf8, normalizeText, paginate } from './text'
export { guardDocx, readCentralDirectory, type ZipEntry, type ZipLimits } from './zip'
export {
  DEFAULT_EXTRACT_LIMITS,
  type ExtractedPage,
  type ExtractLimits,
  type ExtractOptions,
  type ExtractProgress,
  type ExtractResult,
} from './types'
export { stem, terms, termSet } from './terms'
export {
  docLabel,
  labelWebResults,
  passageSpans,
  selectSnippets,
  webLabel,
  type SelectOptions,
  type Snippet,
  type SourceDocument,
  type WebSource,
} from './retrieval'
export {
  parseCitations,
  verifyCitation,
  verifyCitations,
  type Citation,
  type CitationSources,
  type UnverifiedReason,
  type VerifiedCitation,
  type VerifyOptions,
} from './citations'
export { looksLikeInjection, neutralize, renderSources, UNTRUSTED_SOURCE_RULES, wrapUntrusted, type UntrustedSource, type WrapOptions } from './prompt-safety'
