/**
 * WEB_SEARCH_PROVIDER=searxng: GET `${SEARXNG_URL}/search?q=…&format=json`.
 * SearXNG answers `{ query, results: [{ url, title, content, engine, … }], … }`
 * (the json format must be enabled in its settings.yml). One attempt with a
 * timeout, no retries: the council searches once before drafting and goes on
 * without web sources if this fails. Results are untrusted text: only http(s)
 * URLs are kept, control and invisible format characters are removed and every
 * field is capped, so a hostile page cannot bloat or smuggle markup into prompts.
 */
import { DEFAULT_RESULT_LIMIT, MAX_RESULT_LIMIT, WebSearchError, type SearchOptions, type WebResult, type WebSearch } from './types'

export interface SearxngOptions {
  /** Base URL, e.g. http://searxng:8080 (a path prefix is kept). */
  url: string
  timeoutMs?: number
  maxSnippetChars?: number
  maxTitleChars?: number
  /** Longest query sent; longer questions are cut at a word boundary. */
  maxQueryChars?: number
  /** A body larger than this is refused rather than parsed. */
  maxResponseBytes?: number
  fetch?: typeof fetch
}

interface SearxngResult {
  url?: unknown
  title?: unknown
  content?: unknown
}

const MAX_URL_CHARS = 2048

/** Control characters (newlines included: a result is one line) and invisible formatting such as bidi overrides. */
const UNSAFE_CHARS = /[\p{Cc}\p{Cf}\u2028\u2029]+/gu

/** One line of plain text, at most `max` characters, cut at a word boundary when possible. */
function cleanText(raw: unknown, max: number): string {
  if (typeof raw !== 'string') return ''
  const text = raw.replace(UNSAFE_CHARS, ' ').replace(/\s+/g, ' ').trim()
  if (text.length <= max) return text
  const cut = text.slice(0, max - 1)
  const space = cut.lastIndexOf(' ')
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`
}

function safeUrl(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw.length > MAX_URL_CHARS) return null
  try {
    const parsed = new URL(raw)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null
  } catch {
    return null
  }
}

/** Reads at most `max` bytes of the body; a larger body is a bad response, not an out-of-memory. */
async function readCapped(response: Response, max: number): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel()
      throw new WebSearchError('web_search_bad_response', `The search server's answer is larger than ${Math.round(max / 1024)} KiB; refusing it.`)
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

function upstreamMessage(status: number): string {
  if (status === 403)
    return 'The search server refused the request (HTTP 403); is the json format enabled in its settings.yml (search.formats)?'
  if (status >= 300 && status < 400)
    return `The search server redirected the request (HTTP ${status}); set SEARXNG_URL to the address it redirects to.`
  if (status === 429) return 'The search server is rate limiting us (HTTP 429); try again later.'
  return `The search server answered HTTP ${status}.`
}

/** SearXNG's JSON → results, or a WebSearchError naming what was wrong with it. */
function parseSearxngResults(body: string, limit: number, caps: { snippet: number; title: number }): WebResult[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new WebSearchError('web_search_bad_response', 'The search server did not answer JSON; is SEARXNG_URL a SearXNG instance?')
  }
  const results = (parsed as { results?: unknown } | null)?.results
  if (!Array.isArray(results))
    throw new WebSearchError('web_search_bad_response', 'The search server answered JSON without a results list; is SEARXNG_URL a SearXNG instance?')
  const seen = new Set<string>()
  const out: WebResult[] = []
  for (const item of results as SearxngResult[]) {
    if (out.length >= limit) break
    const url = safeUrl(item?.url)
    if (!url || seen.has(url)) continue
    seen.add(url)
    const title = cleanText(item.title, caps.title) || new URL(url).hostname
    out.push({ title, url, snippet: cleanText(item.content, caps.snippet) })
  }
  if (out.length === 0) throw new WebSearchError('web_search_no_results', 'The web search found nothing for this question.')
  return out
}

/**
 * @example
 * const search = createSearxngSearch({ url: 'http://searxng:8080', timeoutMs: 5000 })
 * const results = await search.search('bun sqlite wal mode', { limit: 5, signal })
 */
export function createSearxngSearch({
  url,
  timeoutMs = 5000,
  maxSnippetChars = 500,
  maxTitleChars = 200,
  maxQueryChars = 400,
  maxResponseBytes = 2 * 1024 * 1024,
  fetch: fetchImpl = fetch,
}: SearxngOptions): WebSearch {
  const endpoint = `${url.replace(/\/+$/, '')}/search`

  return {
    provider: 'searxng',
    enabled: true,
    async search(query: string, options: SearchOptions = {}): Promise<WebResult[]> {
      const q = cleanText(query, maxQueryChars).replace(/…$/, '')
      if (!q) throw new WebSearchError('web_search_bad_query', 'A web search needs a non-empty query.')
      const limit = Math.min(MAX_RESULT_LIMIT, Math.max(1, Math.floor(options.limit ?? DEFAULT_RESULT_LIMIT)))
      if (options.signal?.aborted) throw new WebSearchError('web_search_cancelled', 'The web search was cancelled.')

      const timeout = AbortSignal.timeout(timeoutMs)
      const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
      const params = new URLSearchParams({ q, format: 'json', pageno: '1', safesearch: '1' })
      const failed = (error: unknown): WebSearchError => {
        if (error instanceof WebSearchError) return error
        if (options.signal?.aborted) return new WebSearchError('web_search_cancelled', 'The web search was cancelled.')
        if (timeout.aborted) return new WebSearchError('web_search_timeout', `The search server did not answer within ${timeoutMs} ms.`)
        return new WebSearchError('web_search_unreachable', 'The search server could not be reached.')
      }

      let response: Response
      try {
        response = await fetchImpl(`${endpoint}?${params}`, {
          headers: { accept: 'application/json' },
          redirect: 'manual',
          signal,
        })
      } catch (error) {
        throw failed(error)
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => {})
        throw new WebSearchError('web_search_upstream_error', upstreamMessage(response.status), response.status)
      }
      let body: string
      try {
        body = await readCapped(response, maxResponseBytes)
      } catch (error) {
        throw failed(error)
      }
      return parseSearxngResults(body, limit, { snippet: maxSnippetChars, title: maxTitleChars })
    },
  }
}
