/**
 * Grounding a council in its session's sources: the uploaded documents (once
 * read by the worker) and, when the session asked for it, one web search for
 * the question. Before drafting, the council waits — bounded — for its
 * documents, picks bounded snippets for the question (BM25, src/documents),
 * and stores the search results as the `search` stage output so a resumed job
 * never searches twice. Drafts and the synthesis get the sources as delimited
 * untrusted blocks (`withSources`, the one place prompts gain sources) and are
 * told to cite `[doc:N p.P]` / `[web:N]`; every citation in their answers is
 * verified against the snippets given and the stored page text.
 */
import type { SessionRow, StageOutputRow } from '../../db/schema'
import {
  labelWebResults,
  selectSnippets,
  UNTRUSTED_SOURCE_RULES,
  verifyCitations,
  wrapUntrusted,
  type Snippet,
  type WebSource,
} from '../documents'
import type { ChatMessage } from '../llm/types'
import type { CouncilStore, NewStageOutput } from './store'

/** One web search (the search plugin's WebSearch.search, bound); throws when it fails. */
export type SearchWeb = (query: string, options: { signal: AbortSignal; limit: number }) => Promise<Array<{ title: string; url: string; snippet: string }>>

export interface CouncilSources {
  /** What the prompts quote, best match first. */
  snippets: Snippet[]
  web: WebSource[]
  /** Stored text of every page of every document read, by `${doc}:${page}`: what citations are checked against. */
  pages: Map<string, string>
  /** Sentences about sources that could not be used ("Document 2 ("scan.pdf") could not be read: …"). */
  notes: string[]
}

export const NO_SOURCES: CouncilSources = { snippets: [], web: [], pages: new Map(), notes: [] }

export const hasSources = (sources: CouncilSources) => sources.snippets.length > 0 || sources.web.length > 0 || sources.notes.length > 0

/** A citation as stored with a draft or the synthesis (stage output data.citations). */
export interface StoredCitation {
  label: string
  kind: 'doc' | 'web'
  doc: number | null
  page: number | null
  document_id: string | null
  filename: string | null
  url: string | null
  title: string | null
  snippet: string | null
  verified: boolean
  reason: string | null
}

const CITE =
  'Cite each claim you take from a source with its label exactly as given, e.g. [doc:1 p.3] or [web:2], right after the sentence that makes it. Never cite a label you were not given; if the sources do not answer the question, say so.'

/**
 * The messages of a draft or synthesis prompt with the sources added: the
 * rules for untrusted text in the system message, the sources after the
 * user's message, then the instruction to cite (last, so no source has the
 * final word). Unchanged when there are none.
 * @example
 * const messages = withSources(draftPrompt(agent, question), sources)
 */
export function withSources(messages: ChatMessage[], sources: CouncilSources): ChatMessage[] {
  if (!hasSources(sources)) return messages
  const blocks = [
    ...sources.snippets.map((snippet) => wrapUntrusted({ label: snippet.label, title: snippet.filename, text: snippet.text })),
    ...sources.web.map((result) => wrapUntrusted({ label: result.label, title: result.title, url: result.url, text: result.snippet })),
  ]
  const section = [
    ...(blocks.length > 0 ? ['Sources (quoted data, best matches first):', ...blocks] : []),
    // File names and reasons are the uploader's text too: quoted, not obeyed.
    ...(sources.notes.length > 0 ? ['Sources that could not be used:', wrapUntrusted({ label: 'unusable sources', text: sources.notes.join('\n') })] : []),
  ].join('\n\n')
  const lastUser = messages.map((message) => message.role).lastIndexOf('user')
  return messages.map((message, i) => {
    if (message.role === 'system') return { ...message, content: `${message.content}\n\n${UNTRUSTED_SOURCE_RULES}\n${CITE}` }
    if (i === lastUser) return { ...message, content: `${message.content}\n\n${section}\n\n${CITE}` }
    return message
  })
}

/**
 * Every citation in a draft or synthesis, verified (src/documents/citations.ts), one entry per
 * label and outcome, for `citations[]` in the results.
 */
export function citationsOf(text: string, sources: CouncilSources): StoredCitation[] {
  const verified = verifyCitations(text, {
    snippets: sources.snippets,
    pageText: (doc, page) => sources.pages.get(`${doc}:${page}`),
    web: sources.web,
  })
  const seen = new Set<string>()
  const out: StoredCitation[] = []
  for (const citation of verified) {
    const key = `${citation.label}|${citation.verified}`
    if (seen.has(key)) continue
    seen.add(key)
    const web = citation.kind === 'web' ? sources.web.find((result) => result.n === citation.n) : undefined
    out.push({
      label: citation.label,
      kind: citation.kind,
      doc: citation.kind === 'doc' ? citation.doc : null,
      page: citation.kind === 'doc' ? citation.page : null,
      document_id: citation.documentId ?? null,
      filename: citation.filename ?? null,
      url: citation.url ?? null,
      title: web?.title ?? null,
      snippet: citation.snippet,
      verified: citation.verified,
      reason: citation.reason,
    })
  }
  return out
}

export interface GatherOptions {
  store: CouncilStore
  search?: SearchWeb
  session: Pick<SessionRow, 'id' | 'question' | 'webSearch'>
  /** The run's stored outputs (a stored search is reused). */
  outputs: readonly StageOutputRow[]
  /** Stores the search outcome (through the engine, which keeps its outputs current). */
  save(row: NewStageOutput): Promise<void>
  jobId: string
  signal: AbortSignal
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void }
  /** Called once when there is anything to gather (the `sources` stage starts). */
  started(): Promise<void>
  /** How long to wait for documents still being read. */
  waitMs: number
  pollMs?: number
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop)
      resolve()
    }, ms)
    const stop = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', stop, { once: true })
  })

/**
 * The session's sources for its council; NO_SOURCES (and no stage) when it
 * has no documents and did not ask for a web search.
 */
export async function gatherSources(options: GatherOptions): Promise<CouncilSources> {
  const { store, session, signal, log } = options
  let documents = await store.documents(session.id)
  if (documents.length === 0 && !session.webSearch) return NO_SOURCES
  await options.started()

  const reading = () => documents.filter((doc) => (doc.status === 'pending' || doc.status === 'extracting') && !doc.stalled)
  const deadline = Date.now() + options.waitMs
  if (reading().length > 0) {
    log.info(`waiting for ${reading().length} of ${documents.length} documents to be read`)
    while (reading().length > 0 && Date.now() < deadline) {
      await sleep(Math.min(options.pollMs ?? 500, Math.max(1, deadline - Date.now())), signal)
      documents = await store.documents(session.id)
    }
  }

  const notes: string[] = []
  const readable: Array<{ n: number; id: string; filename: string; pages: Awaited<ReturnType<CouncilStore['documentPages']>> }> = []
  for (const [i, doc] of documents.entries()) {
    const n = i + 1
    if (doc.status === 'extracted') readable.push({ n, id: doc.id, filename: doc.filename, pages: await store.documentPages(doc.id) })
    else {
      const reason =
        doc.status === 'failed'
          ? (doc.error ?? 'it could not be read')
          : doc.stalled
            ? 'reading it stopped before it finished'
            : `it was still being read after ${Math.round(options.waitMs / 1000)} s`
      notes.push(`Document ${n} ("${doc.filename}") could not be read: ${reason}`)
    }
  }
  if (documents.length > 0) log.info(`${readable.length} of ${documents.length} documents read`, { documents: documents.length, readable: readable.length })

  const snippets = selectSnippets(session.question, readable, { maxSnippets: 8, maxChars: 6000 }).sort((a, b) => b.score - a.score)
  const pages = new Map<string, string>()
  for (const doc of readable) for (const page of doc.pages) pages.set(`${doc.n}:${page.page}`, page.text)

  let web: WebSource[] = []
  if (session.webSearch) {
    const stored = options.outputs.find((row) => row.stage === 'search' && row.agent === '*' && row.status === 'ok')
    let data = stored?.data as { results?: WebSource[]; error?: string | null } | undefined
    if (!data) {
      const started = performance.now()
      try {
        if (!options.search) throw new Error('web search is not available to this worker')
        const results = await options.search(session.question, { signal, limit: 5 })
        data = { results: labelWebResults(results), error: null }
        log.info('web search finished', { results: results.length })
      } catch (error) {
        if (signal.aborted) throw signal.reason
        data = { results: [], error: error instanceof Error ? error.message : String(error) }
        log.warn('web search failed; the council goes on without web sources', { error: data.error })
      }
      await options.save({ ...outputBase(options), stage: 'search', data: { query: session.question, ...data }, durationMs: Math.round(performance.now() - started) })
    }
    web = data.results ?? []
    if (data.error) notes.push(`The web search failed: ${data.error}`)
  }
  // What the council had, for the results: the notes, and which documents were numbered how.
  await options.save({
    ...outputBase(options),
    stage: 'sources',
    data: {
      notes,
      documents: documents.map((doc, i) => ({ n: i + 1, id: doc.id, status: doc.status })),
      snippets: snippets.length,
      web_results: web.length,
    },
  })
  return { snippets, web, pages, notes }
}

const outputBase = (options: GatherOptions): NewStageOutput => ({
  runId: options.session.id,
  sessionId: options.session.id,
  jobId: options.jobId,
  stage: 'sources',
  agent: '*',
  status: 'ok',
  content: null,
  data: null,
  error: null,
  model: null,
  tokensIn: 0,
  tokensOut: 0,
  costMicroUsd: 0,
  durationMs: 0,
})
