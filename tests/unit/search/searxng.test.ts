/**
 * The search plugin against a local server speaking SearXNG's JSON API:
 * the request it sends, sanitised and capped results, and each failure as a
 * typed WebSearchError (HTTP 500, timeout, bad JSON, no results, cancel).
 * The kill switch is proved by a counting server that sees zero requests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createWebSearch, createSearxngSearch, WebSearchError } from '../../../plugins/search'
import { testConfig } from '../../../src/config'

type Reply = (url: URL) => Response | Promise<Response>

let reply: Reply
let seen: URL[] = []
let server: ReturnType<typeof Bun.serve>
let base: string

const searxng = (results: unknown[], extra: Record<string, unknown> = {}) =>
  Response.json({ query: 'q', number_of_results: results.length, results, answers: [], suggestions: [], unresponsive_engines: [], ...extra })

const result = (n: number, extra: Record<string, unknown> = {}) => ({
  url: `https://example.org/${n}`,
  title: `Result ${n}`,
  content: `Snippet number ${n} about the council.`,
  engine: 'duckduckgo',
  engines: ['duckduckgo'],
  score: 1 / n,
  category: 'general',
  ...extra,
})

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request) {
      const url = new URL(request.url)
      seen.push(url)
      return reply(url)
    },
  })
  base = `http://127.0.0.1:${server.port}`
})

afterAll(() => {
  server.stop(true)
})

beforeEach(() => {
  seen = []
  reply = () => searxng([result(1), result(2)])
})

async function failure(promise: Promise<unknown>): Promise<WebSearchError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(WebSearchError)
  return error as WebSearchError
}

describe('searxng backend', () => {
  test('sends GET /search?q=…&format=json and returns title, url and snippet', async () => {
    const search = createSearxngSearch({ url: `${base}/searx/` })
    const results = await search.search('  what is   a council?  ')
    expect(results).toEqual([
      { title: 'Result 1', url: 'https://example.org/1', snippet: 'Snippet number 1 about the council.' },
      { title: 'Result 2', url: 'https://example.org/2', snippet: 'Snippet number 2 about the council.' },
    ])
    expect(seen).toHaveLength(1)
    expect(seen[0]!.pathname).toBe('/searx/search')
    expect(seen[0]!.searchParams.get('q')).toBe('what is a council?')
    expect(seen[0]!.searchParams.get('format')).toBe('json')
  })

  test('keeps at most `limit` results, drops duplicates and non-http URLs', async () => {
    reply = () =>
      searxng([
        result(1),
        result(1),
        result(2, { url: 'javascript:alert(1)' }),
        result(3, { url: 'not a url' }),
        result(4),
        result(5),
        result(6),
      ])
    const results = await createSearxngSearch({ url: base }).search('q', { limit: 2 })
    expect(results.map((r) => r.url)).toEqual(['https://example.org/1', 'https://example.org/4'])
  })

  test('strips control and invisible characters, caps snippet and title lengths', async () => {
    reply = () =>
      searxng([
        result(1, {
          title: `Evil\u0000 title\u202e with\nnewline ${'t'.repeat(400)}`,
          content: `Line one\r\nline two\u0007 \u200bhidden ${'word '.repeat(300)}`,
        }),
        result(2, { title: '', content: null }),
      ])
    const [first, second] = await createSearxngSearch({ url: base, maxSnippetChars: 120, maxTitleChars: 40 }).search('q')
    expect(first!.title.length).toBeLessThanOrEqual(40)
    expect(first!.snippet.length).toBeLessThanOrEqual(120)
    expect(first!.snippet.endsWith('…')).toBe(true)
    for (const text of [first!.title, first!.snippet]) expect(text).not.toMatch(/[\p{Cc}\p{Cf}]/u)
    expect(first!.snippet.startsWith('Line one line two hidden word')).toBe(true)
    expect(second).toEqual({ title: 'example.org', url: 'https://example.org/2', snippet: '' })
  })

  test('HTTP 500 is web_search_upstream_error, retryable, naming the status', async () => {
    reply = () => new Response('boom', { status: 500 })
    const error = await failure(createSearxngSearch({ url: base }).search('q'))
    expect(error.code).toBe('web_search_upstream_error')
    expect(error.upstreamStatus).toBe(500)
    expect(error.retryable).toBe(true)
    expect(error.message).toContain('HTTP 500')
  })

  test('HTTP 403 says how to enable the json format', async () => {
    reply = () => new Response('Forbidden', { status: 403 })
    const error = await failure(createSearxngSearch({ url: base }).search('q'))
    expect(error.code).toBe('web_search_upstream_error')
    expect(error.message).toContain('search.formats')
  })

  test('a server slower than the timeout is web_search_timeout', async () => {
    reply = () => Bun.sleep(1000).then(() => searxng([result(1)]))
    const started = performance.now()
    const error = await failure(createSearxngSearch({ url: base, timeoutMs: 100 }).search('q'))
    expect(error.code).toBe('web_search_timeout')
    expect(error.message).toContain('100 ms')
    expect(performance.now() - started).toBeLessThan(900)
  })

  test("the caller's signal cancels the search", async () => {
    reply = () => Bun.sleep(1000).then(() => searxng([result(1)]))
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const error = await failure(createSearxngSearch({ url: base }).search('q', { signal: controller.signal }))
    expect(error.code).toBe('web_search_cancelled')
  })

  test('a body that is not JSON is web_search_bad_response', async () => {
    reply = () => new Response('<html>SearXNG</html>', { headers: { 'content-type': 'text/html' } })
    const error = await failure(createSearxngSearch({ url: base }).search('q'))
    expect(error.code).toBe('web_search_bad_response')
    expect(error.retryable).toBe(false)
  })

  test('JSON without a results list is web_search_bad_response', async () => {
    reply = () => Response.json({ hello: 'world' })
    expect((await failure(createSearxngSearch({ url: base }).search('q'))).code).toBe('web_search_bad_response')
  })

  test('a body over the size cap is refused', async () => {
    reply = () => searxng([result(1, { content: 'x'.repeat(50_000) })])
    const error = await failure(createSearxngSearch({ url: base, maxResponseBytes: 10_000 }).search('q'))
    expect(error.code).toBe('web_search_bad_response')
  })

  test('no usable results is web_search_no_results', async () => {
    reply = () => searxng([])
    const error = await failure(createSearxngSearch({ url: base }).search('q'))
    expect(error.code).toBe('web_search_no_results')
    expect(error.status).toBe(422)
  })

  test('an unreachable server is web_search_unreachable', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    const url = `http://127.0.0.1:${closed.port}`
    closed.stop(true)
    expect((await failure(createSearxngSearch({ url }).search('q'))).code).toBe('web_search_unreachable')
  })

  test('an empty query is refused without a request', async () => {
    const error = await failure(createSearxngSearch({ url: base }).search(' \n\t '))
    expect(error.code).toBe('web_search_bad_query')
    expect(seen).toHaveLength(0)
  })
})

describe('createWebSearch', () => {
  test('the default is none: not configured, and never sends a request', async () => {
    const search = createWebSearch(testConfig({ SEARXNG_URL: base }))
    expect(search.provider).toBe('none')
    expect(search.enabled).toBe(false)
    expect((await failure(search.search('q'))).code).toBe('web_search_not_configured')
    expect(seen).toHaveLength(0)
  })

  test('WEB_SEARCH_PROVIDER=searxng searches SEARXNG_URL with SEARXNG_TIMEOUT_MS', async () => {
    const search = createWebSearch(testConfig({ WEB_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: base, SEARXNG_TIMEOUT_MS: '150' }))
    expect(search.enabled).toBe(true)
    expect(await search.search('q')).toHaveLength(2)
    reply = () => Bun.sleep(1000).then(() => searxng([result(1)]))
    expect((await failure(search.search('q'))).code).toBe('web_search_timeout')
  })

  test('DISABLE_WEB_SEARCH=true: web_search_disabled and zero requests reach the search server', async () => {
    const search = createWebSearch(
      testConfig({ WEB_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: base, DISABLE_WEB_SEARCH: 'true' }),
    )
    expect(search.provider).toBe('disabled')
    expect(search.enabled).toBe(false)
    for (let i = 0; i < 3; i++) {
      const error = await failure(search.search('ignore the switch and search anyway', { limit: 5 }))
      expect(error.code).toBe('web_search_disabled')
      expect(error.status).toBe(403)
    }
    expect(seen).toHaveLength(0)
  })
})
