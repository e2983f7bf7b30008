/**
 * Grounding for prompts: the extracted pages of a session's documents are cut
 * into passages (whole sentences, about `passageChars` long), ranked against
 * the question with BM25, and the best are returned as bounded snippets
 * labelled `[doc:N p.P]`. A snippet's text is always an exact slice of its
 * page's text, which is what lets a citation be verified against the page.
 * Web results get the labels `[web:N]`. Pure and in-memory: no network, no model.
 */
import { terms } from './terms'
import type { ExtractedPage } from './types'

export interface SourceDocument {
  /** The number in `[doc:N …]`; defaults to the document's position in the list, from 1. */
  n?: number
  /** Carried through to snippets, for citations[] (document_id, filename). */
  id?: string
  filename?: string
  pages: ExtractedPage[]
}

export interface Snippet {
  /** `[doc:N p.P]` */
  label: string
  doc: number
  page: number
  /** An exact slice of the page's text: page.text.slice(start, start + text.length). */
  text: string
  start: number
  /** BM25 score; 0 for a document's opening added because nothing in it matched. */
  score: number
  documentId?: string
  filename?: string
}

export interface SelectOptions {
  /** At most this many snippets (default 8). */
  maxSnippets?: number
  /** At most this many characters over all snippets (default 6000). */
  maxChars?: number
  /** Target passage length (default 600); a snippet is at most max(passageChars, 1.5 × passageChars for one long sentence). */
  passageChars?: number
  /** At most this many snippets from one page (default 2), so one page cannot crowd out the rest. */
  maxPerPage?: number
  /** Give every document with no matching passage its opening passage while room remains (default true). */
  includeOpenings?: boolean
}

export interface WebSource {
  /** `[web:N]` */
  label: string
  n: number
  title: string
  url: string
  snippet: string
}

export const docLabel = (doc: number, page: number) => `[doc:${doc} p.${page}]`
export const webLabel = (n: number) => `[web:${n}]`

interface Passage {
  doc: SourceDocument & { n: number }
  page: number
  start: number
  end: number
  terms: string[]
}

/** [start, end) spans of whole sentences, grouped to about `target` characters, whitespace trimmed. */
export function passageSpans(text: string, target: number): Array<[number, number]> {
  const sentences: Array<[number, number]> = []
  let from = 0
  for (const match of text.matchAll(/[.!?]+["'”’)\]]*\s+|\n+/g)) {
    const to = match.index + match[0].length
    sentences.push([from, to])
    from = to
  }
  if (from < text.length) sentences.push([from, text.length])

  const spans: Array<[number, number]> = []
  const push = (start: number, end: number) => {
    while (start < end && /\s/.test(text[start]!)) start++
    while (end > start && /\s/.test(text[end - 1]!)) end--
    if (end > start) spans.push([start, end])
  }
  let start = -1
  let end = -1
  for (const [s, e] of sentences) {
    if (start >= 0 && e - start > target) {
      push(start, end)
      start = -1
    }
    if (start < 0) start = s
    end = e
    // One sentence far longer than a passage is cut at spaces.
    while (end - start > target * 1.5) {
      const space = text.lastIndexOf(' ', start + target)
      const cut = space > start + target / 2 ? space : start + target
      push(start, cut)
      start = cut
    }
  }
  if (start >= 0) push(start, end)
  return spans
}

const K1 = 1.2
const B = 0.75

function rank(question: string, passages: Passage[]): number[] {
  const query = [...new Set(terms(question))]
  if (query.length === 0 || passages.length === 0) return passages.map(() => 0)
  const df = new Map<string, number>()
  for (const passage of passages) for (const term of new Set(passage.terms)) df.set(term, (df.get(term) ?? 0) + 1)
  const avgdl = passages.reduce((sum, p) => sum + p.terms.length, 0) / passages.length || 1
  return passages.map((passage) => {
    const tf = new Map<string, number>()
    for (const term of passage.terms) tf.set(term, (tf.get(term) ?? 0) + 1)
    let score = 0
    for (const term of query) {
      const f = tf.get(term)
      if (!f) continue
      const n = df.get(term)!
      const idf = Math.log(1 + (passages.length - n + 0.5) / (n + 0.5))
      score += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * passage.terms.length) / avgdl))
    }
    return score
  })
}

/**
 * The snippets a prompt gets for `question`: best BM25 matches first chosen,
 * within `maxSnippets` and `maxChars`; then (includeOpenings) the opening of
 * each document nothing matched in, so "summarise this" still sees every
 * document. Returned in reading order (document, page, position).
 * @example
 * const snippets = selectSnippets(question, [{ id, filename, pages }], { maxSnippets: 8, maxChars: 6000 })
 * // [{ label: '[doc:1 p.3]', text: '…', … }]
 */
export function selectSnippets(question: string, documents: SourceDocument[], options: SelectOptions = {}): Snippet[] {
  const { maxSnippets = 8, maxChars = 6000, passageChars = 600, maxPerPage = 2, includeOpenings = true } = options
  const numbered = documents.map((doc, i) => ({ ...doc, n: doc.n ?? i + 1 }))
  const passages: Passage[] = []
  for (const doc of numbered)
    for (const page of doc.pages)
      for (const [start, end] of passageSpans(page.text, passageChars))
        passages.push({ doc, page: page.page, start, end, terms: terms(page.text.slice(start, end)) })

  const scores = rank(question, passages)
  const pageText = new Map<string, string>(numbered.flatMap((doc) => doc.pages.map((page) => [`${doc.n}:${page.page}`, page.text] as const)))
  const chosen: Snippet[] = []
  const perPage = new Map<string, number>()
  let budget = maxChars

  const take = (passage: Passage, score: number): boolean => {
    const key = `${passage.doc.n}:${passage.page}`
    if (chosen.length >= maxSnippets || (perPage.get(key) ?? 0) >= maxPerPage) return false
    let end = passage.end
    if (end - passage.start > budget) {
      // Too long for what is left: keep a word-aligned head if that is still worth reading.
      if (budget < 150) return false
      const space = pageText.get(key)!.lastIndexOf(' ', passage.start + budget)
      end = space > passage.start ? space : passage.start + budget
    }
    const text = pageText.get(key)!.slice(passage.start, end)
    chosen.push({
      label: docLabel(passage.doc.n, passage.page),
      doc: passage.doc.n,
      page: passage.page,
      text,
      start: passage.start,
      score,
      ...(passage.doc.id !== undefined && { documentId: passage.doc.id }),
      ...(passage.doc.filename !== undefined && { filename: passage.doc.filename }),
    })
    perPage.set(key, (perPage.get(key) ?? 0) + 1)
    budget -= text.length
    return true
  }

  const order = passages.map((_, i) => i).filter((i) => scores[i]! > 0)
  order.sort((a, b) => scores[b]! - scores[a]! || a - b)
  for (const i of order) {
    if (chosen.length >= maxSnippets || budget < 150) break
    take(passages[i]!, scores[i]!)
  }
  if (includeOpenings) {
    const cited = new Set(chosen.map((snippet) => snippet.doc))
    for (const doc of numbered) {
      if (cited.has(doc.n)) continue
      const opening = passages.find((passage) => passage.doc === doc)
      if (opening) take(opening, 0)
    }
  }
  return chosen.sort((a, b) => a.doc - b.doc || a.page - b.page || a.start - b.start)
}

/**
 * Numbers web results as sources `[web:1]`, `[web:2]`, … in the order given.
 * @example
 * const web = labelWebResults(await search.search(question))
 */
export function labelWebResults(results: ReadonlyArray<{ title: string; url: string; snippet: string }>): WebSource[] {
  return results.map((result, i) => ({ label: webLabel(i + 1), n: i + 1, title: result.title, url: result.url, snippet: result.snippet }))
}
