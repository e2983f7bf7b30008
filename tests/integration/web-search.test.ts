/**
 * Web search in a council, against a local server speaking SearXNG's JSON
 * API that counts every request, on the database of the pass: a session that
 * asks for it (web_search: true) is searched once, before drafting, and its
 * drafts and synthesis cite [web:N] sources, verified; a rerun of the job does
 * not search again. With DISABLE_WEB_SEARCH=true the request is refused with
 * 403 web_search_disabled and — even for a session that asked before the
 * switch was thrown — no request ever reaches the search server. Without a
 * provider the request is refused as not configured.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { idle } from './council-support'
import { expectErrorShape, freshUser } from './support'

let server: ReturnType<typeof Bun.serve>
let requests: URL[] = []
let failing = false

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request) {
      const url = new URL(request.url)
      requests.push(url)
      if (failing) return new Response('upstream broke', { status: 502 })
      return Response.json({
        query: url.searchParams.get('q'),
        results: [
          { url: 'https://example.org/pricing', title: 'Pricing study', content: 'Usage based pricing lifted software revenue growth by nine percent in one year.' },
          { url: 'https://example.org/churn', title: 'Churn report', content: 'Enterprise customers churn less when contracts run for several years.' },
        ],
      })
    },
  })
})
afterAll(() => server.stop(true))
beforeEach(() => {
  requests = []
  failing = false
})

const opened: TestApp[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})
async function app(env: Record<string, string>) {
  const t = await buildTestApp({ SEARXNG_URL: `http://127.0.0.1:${server.port}`, ...env })
  opened.push(t)
  return t
}

const QUESTION = 'Does usage based pricing lift software revenue growth?'

describe('web search', () => {
  test('searched once before drafting; drafts and synthesis cite [web:N], verified; the results are stored with the session', async () => {
    const t = await app({ WEB_SEARCH_PROVIDER: 'searxng' })
    const user = freshUser()
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION, web_search: true } })
    expect(created.status).toBe(201)
    const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
    await idle(t)
    expect((await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })).body.status).toBe('succeeded')
    expect(requests).toHaveLength(1)
    expect(requests[0]!.searchParams.get('q')).toBe(QUESTION)
    expect(requests[0]!.searchParams.get('format')).toBe('json')

    const results = (await t.json('GET', `/api/v1/sessions/${created.body.id}/results`, { user })).body
    const synthesis = results.citations.filter((c: any) => c.stage === 'synthesis')
    expect(synthesis.map((c: any) => [c.label, c.kind, c.url, c.verified])).toEqual([
      ['[web:1]', 'web', 'https://example.org/pricing', true],
      ['[web:2]', 'web', 'https://example.org/churn', true],
    ])
    for (const draft of results.drafts) expect(draft.content).toContain('[web:1]')
    expect(results.stages.search).toBeUndefined()
    const stored = (await t.deps.stores.stageOutputs.forRun(created.body.id)).find((row) => row.stage === 'search')!
    expect(stored.data).toMatchObject({ query: QUESTION, error: null, results: [{ label: '[web:1]', url: 'https://example.org/pricing' }, { label: '[web:2]' }] })

    const html = await (await t.call('GET', `/sessions/${created.body.id}`, { user })).text()
    expect(html).toContain('href="https://example.org/pricing"')
  })

  test('a failed search does not stop the council; the results say so', async () => {
    const t = await app({ WEB_SEARCH_PROVIDER: 'searxng' })
    failing = true
    const user = freshUser()
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION, web_search: 'true' } })
    await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
    await idle(t)
    const results = (await t.json('GET', `/api/v1/sessions/${created.body.id}/results`, { user })).body
    expect(results.status).toBe('succeeded')
    expect(results.source_notes).toEqual([expect.stringContaining('The web search failed')])
    expect(requests).toHaveLength(1)
  })

  test('DISABLE_WEB_SEARCH=true: 403 web_search_disabled, and no request ever reaches the search server', async () => {
    const t = await app({ WEB_SEARCH_PROVIDER: 'searxng', DISABLE_WEB_SEARCH: 'true' })
    const user = freshUser()
    const refused = await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION, web_search: true } })
    expectErrorShape(expect, refused, 403, 'web_search_disabled')
    expect((await t.json('GET', '/api/v1/sessions', { user })).body.items).toEqual([])
    // A session that asked for web search before the switch was thrown still runs, without it.
    const plain = await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION } })
    const row = (await t.deps.stores.sessions.findLive(plain.body.id, (await t.json('GET', '/api/v1/me', { user })).body.id))!
    await t.deps.stores.sessions.insert({ ...row, id: Bun.randomUUIDv7(), webSearch: true })
    const asked = (await t.json('GET', '/api/v1/sessions', { user })).body.items[0]
    await t.json('POST', `/api/v1/sessions/${asked.id}/run`, { user })
    await idle(t)
    const results = (await t.json('GET', `/api/v1/sessions/${asked.id}/results`, { user })).body
    expect(results.status).toBe('succeeded')
    expect(results.source_notes).toEqual([expect.stringContaining('disabled')])
    const page = await (await t.call('GET', '/sessions/new', { user })).text()
    expect(page).not.toContain('name="web_search"')
    expect(requests).toHaveLength(0)
  })

  test('without a provider, web_search is refused as not configured; the form offers no web search', async () => {
    const t = await app({})
    const user = freshUser()
    expectErrorShape(expect, await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION, web_search: true } }), 422, 'web_search_not_configured')
    expect((await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION, web_search: false } })).status).toBe(201)
    expect(await (await t.call('GET', '/sessions/new', { user })).text()).not.toContain('name="web_search"')
    expect(requests).toHaveLength(0)
  })

  test('the form asks for the web search acknowledgement before it sends anything', async () => {
    const t = await app({ WEB_SEARCH_PROVIDER: 'searxng' })
    const user = freshUser()
    const page = await (await t.call('GET', '/sessions/new', { user })).text()
    expect(page).toContain('name="web_search"')
    expect(page).toContain('name="acknowledge_web_search"')
    const form = (fields: Record<string, string>) => new URLSearchParams({ question: QUESTION, ...fields }).toString()
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'hx-request': 'true' }
    const refused = await t.call('POST', '/sessions', { user, headers, body: form({ web_search: 'true' }) })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('id="web-search-error"')
    const accepted = await t.call('POST', '/sessions', { user, headers, body: form({ web_search: 'true', acknowledge_web_search: 'true', run: 'true' }) })
    expect(accepted.status).toBe(200)
    expect(accepted.headers.get('hx-location')).toStartWith('/sessions/')
    await idle(t)
    expect(requests).toHaveLength(1)
  })
})
