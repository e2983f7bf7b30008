/**
 * Documents as a library: upload sniffing, text extraction with guards,
 * BM25 snippet selection, citation parsing and verification, and the
 * wrapping of untrusted text for prompts. No database, no storage, no routes:
 * the uploads module, the extraction job and the council call these.
 */
export { DocumentError, formatBytes, quoteName,  } from './errors'
export {     type DocumentKind } from './kinds'
export { sniff, SNIFF_BYTES,    } from './sniff'
export { extract } from './extract'

export { guardDocx, readCentralDirectory,  type ZipLimits } from './zip'
export {
  
  type ExtractedPage,
  
  type ExtractOptions,
  type ExtractProgress,
  
} from './types'
export { stem, terms,  } from './terms'
export {
  
  labelWebResults,
  passageSpans,
  selectSnippets,
  
  
  type Snippet,
  type SourceDocument,
  type WebSource,
} from './retrieval'
export {
  parseCitations,
  verifyCitation,
  verifyCitations,
  
  type CitationSources,
  
  
  
} from './citations'
export { looksLikeInjection, neutralize, renderSources, UNTRUSTED_SOURCE_RULES, wrapUntrusted,   } from './prompt-safety'
