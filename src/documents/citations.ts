/**
 * Citations in model output: `[doc:N p.P]` and `[web:N]` markers (also a few
 * spellings models produce, such as `[doc:1, p.3]`, `[doc 1 page 3]` or
 * `[doc:1 p.3; web:2]`), and their verification.
 *
 * A document citation `[doc:N p.P]` is **verified** when all of these hold:
 *  1. page P of document N exists;
 *  2. the prompt gave at least one snippet labelled `[doc:N p.P]`, and such a
 *     snippet occurs on that page's stored text (whitespace and case folded) —
 *     the label really names where the text came from;
 *  3. every quotation of 12+ characters in the citing sentence ("…" or “…”)
 *     occurs on that page;
 *  4. the citing sentence shares enough content words (stemmed, stopwords
 *     removed) with one of those snippets: at least `minOverlap` of the
 *     sentence's distinct terms, and at least `minShared` of them (fewer only
 *     when the sentence has fewer terms).
 * A web citation `[web:N]` is verified when result N was given, every quotation
 * occurs in its title or snippet, and the sentence overlaps them as in 4.
 * The citing sentence is the text before the marker back to the previous
 * sentence end, or the text after the marker up to the next one when the
 * marker starts a line (or nothing of substance precedes it).
 * An unverified citation is kept and flagged with the first check it failed.
 */
import type { Snippet, WebSource } from './retrieval'
import { docLabel, webLabel } from './retrieval'
import { termSet } from './terms'

interface CitationBase {
  /** Canonical label: `[doc:N p.P]` or `[web:N]` (for a doc cited without a page: `[doc:N]`). */
  label: string
  /** The bracket group as written, and where it sits in the text. */
  marker: string
  start: number
  end: number
  /** The sentence that makes the cited claim. */
  sentence: string
}

export type Citation = (CitationBase & { kind: 'doc'; doc: number; page: number | null }) | (CitationBase & { kind: 'web'; n: number })

type UnverifiedReason =
  | 'no_page'
  | 'unknown_source'
  | 'not_given'
  | 'snippet_not_on_page'
  | 'quote_not_found'
  | 'low_overlap'

export type VerifiedCitation = Citation & {
  verified: boolean
  /** Why not, when not verified. */
  reason: UnverifiedReason | null
  /** The snippet (or web result snippet) that backs the claim best, if any. */
  snippet: string | null
  /** Share of the sentence's terms found in that snippet, 0..1. */
  overlap: number
  /** From the snippets given for the document (SourceDocument id and filename), for citations[]. */
  documentId?: string
  filename?: string
  /** The cited web result's address. */
  url?: string
}

export interface CitationSources {
  /** The snippets the prompt gave, as selectSnippets returned them. */
  snippets: readonly Snippet[]
  /** The stored text of page P of document N, or undefined when there is no such page. */
  pageText: (doc: number, page: number) => string | undefined
  web?: readonly WebSource[]
}

export interface VerifyOptions {
  /** Default 0.3. */
  minOverlap?: number
  /** Default 2. */
  minShared?: number
}

const GROUP = /\[([^[\]\n]{1,200})\]/g
const ITEM = /\b(?:(doc)(?:ument)?\s*[:#]?\s*(\d{1,4})(?:\s*[,;]?\s*(?:p|pp|pg|page)\.?\s*(\d{1,5}))?|(web)\s*[:#]?\s*(\d{1,3}))\b/gi

/** True when a bracket holds citations only; "[see doc 1 for details]" is prose, not a marker. */
const isMarker = (inner: string) => new RegExp(ITEM.source, 'i').test(inner) && inner.replace(ITEM, '').replace(/[\s,;&]|\band\b/gi, '') === ''

/** Every citation marker in `text`, in order. */
export function parseCitations(text: string): Citation[] {
  const out: Citation[] = []
  for (const group of text.matchAll(GROUP)) {
    const inner = group[1]!
    if (!isMarker(inner)) continue
    const items = [...inner.matchAll(ITEM)]
    const start = group.index
    const end = start + group[0].length
    const sentence = citingSentence(text, start, end)
    for (const item of items) {
      const base = { marker: group[0], start, end, sentence }
      if (item[1]) {
        const doc = Number(item[2])
        const page = item[3] ? Number(item[3]) : null
        out.push({ ...base, kind: 'doc', doc, page, label: page === null ? `[doc:${doc}]` : docLabel(doc, page) })
      } else out.push({ ...base, kind: 'web', n: Number(item[5]), label: webLabel(Number(item[5])) })
    }
  }
  return out
}

const withoutMarkers = (text: string) => text.replace(GROUP, (group, inner: string) => (isMarker(inner) ? ' ' : group))

function citingSentence(text: string, start: number, end: number): string {
  const raw = withoutMarkers(text.slice(0, start))
  // A marker at the start of a line opens its sentence; after a full stop on the same line it closes one.
  const opensLine = /(^|\n)[ \t]*$/.test(raw)
  const before = raw.trimEnd().replace(/[.!?:;,]+$/, '')
  const boundary = Math.max(before.lastIndexOf('. '), before.lastIndexOf('! '), before.lastIndexOf('? '), before.lastIndexOf('\n'))
  const sentence = before.slice(boundary + 1).trim()
  if (!opensLine && sentence.length >= 3) return sentence
  const after = withoutMarkers(text.slice(end))
  const stop = after.search(/[.!?](\s|$)|\n/)
  return (stop < 0 ? after : after.slice(0, stop)).trim()
}

const fold = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase()

/** Quotations of 12+ characters in the sentence: "…", “…” or «…». */
function quotations(sentence: string): string[] {
  return [...sentence.matchAll(/"([^"]{12,})"|“([^”]{12,})”|«([^»]{12,})»/g)].map((m) => fold(m[1] ?? m[2] ?? m[3]!))
}

function bestOverlap(sentence: string, candidates: string[], minShared: number): { snippet: string | null; overlap: number; shared: boolean } {
  const wanted = termSet(sentence)
  let best = { snippet: candidates[0] ?? null, overlap: 0, shared: false }
  for (const candidate of candidates) {
    const have = termSet(candidate)
    let common = 0
    for (const term of wanted) if (have.has(term)) common++
    const overlap = wanted.size === 0 ? 0 : common / wanted.size
    if (overlap > best.overlap) best = { snippet: candidate, overlap, shared: common >= Math.min(minShared, wanted.size) }
  }
  return best
}

/** Checks one citation against what the prompt gave (see the module comment for the exact rule). */
export function verifyCitation(citation: Citation, sources: CitationSources, options: VerifyOptions = {}): VerifiedCitation {
  const { minOverlap = 0.3, minShared = 2 } = options
  let about: Pick<VerifiedCitation, 'documentId' | 'filename' | 'url'> = {}
  const result = (reason: UnverifiedReason | null, snippet: string | null = null, overlap = 0): VerifiedCitation => ({
    ...citation,
    verified: reason === null,
    reason,
    snippet,
    overlap: Math.round(overlap * 100) / 100,
    ...about,
  })
  const quotes = quotations(citation.sentence)

  if (citation.kind === 'web') {
    const source = sources.web?.find((web) => web.n === citation.n)
    if (!source) return result('unknown_source')
    about = { url: source.url }
    const haystack = fold(`${source.title} ${source.snippet}`)
    const match = bestOverlap(citation.sentence, [`${source.title} ${source.snippet}`], minShared)
    if (quotes.some((quote) => !haystack.includes(quote))) return result('quote_not_found', source.snippet, match.overlap)
    return result(match.overlap >= minOverlap && match.shared ? null : 'low_overlap', source.snippet, match.overlap)
  }

  if (citation.page === null) return result('no_page')
  const page = sources.pageText(citation.doc, citation.page)
  if (page === undefined) return result('unknown_source')
  const fromDoc = sources.snippets.find((snippet) => snippet.doc === citation.doc)
  about = {
    ...(fromDoc?.documentId !== undefined && { documentId: fromDoc.documentId }),
    ...(fromDoc?.filename !== undefined && { filename: fromDoc.filename }),
  }
  const given = sources.snippets.filter((snippet) => snippet.doc === citation.doc && snippet.page === citation.page)
  if (given.length === 0) return result('not_given')
  const folded = fold(page)
  const onPage = given.map((snippet) => snippet.text).filter((text) => folded.includes(fold(text)))
  if (onPage.length === 0) return result('snippet_not_on_page', given[0]!.text)
  const match = bestOverlap(citation.sentence, onPage, minShared)
  if (quotes.some((quote) => !folded.includes(quote))) return result('quote_not_found', match.snippet, match.overlap)
  return result(match.overlap >= minOverlap && match.shared ? null : 'low_overlap', match.snippet, match.overlap)
}

/**
 * Parses and verifies every citation in a draft or synthesis.
 * @example
 * const citations = verifyCitations(synthesis, { snippets, pageText: (n, p) => pages.get(`${n}:${p}`), web })
 * const flagged = citations.filter((c) => !c.verified)
 */
export function verifyCitations(text: string, sources: CitationSources, options?: VerifyOptions): VerifiedCitation[] {
  return parseCitations(text).map((citation) => verifyCitation(citation, sources, options))
}
