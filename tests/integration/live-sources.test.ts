/**
 * The live session page with documents (both dialects, in-process runner):
 * the council's stream says `sources` before drafting and the page lists
 * "Reading documents" first; a landed draft in the stream links its
 * citations; the finished page has the document list, the citations, the
 * member cards and the reviewers' agreement; an extraction job publishes its
 * own stage, progress and done; and the new-session form keeps the palette,
 * the source checkboxes and the question through its refusals, each message
 * beside its field.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { readSse } from '../helpers/sse'
import { documentRows, documentsSettled, uploadForm } from '../helpers/uploads'
import { idle } from './council-support'
import { freshUser } from './support'

const QUESTION = 'What drove revenue growth in the third quarter?'
const REPORT = 'Quarterly report. Revenue growth reached twelve percent in the third quarter, driven by the new pricing plans.'
const HTMX = { 'hx-request': 'true', accept: 'text/html' }

const follow = async (t: TestApp, user: string, path: string) => {
  const controller = new AbortController()
  const res = await t.app.handle(new Request(`http://localhost${path}`, { headers: { 'x-user-id': user }, signal: controller.signal }))
  expect(res.status).toBe(200)
  return readSse(res, controller)
}

describe('the live page with documents', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ LLM_OFFLINE_LATENCY_MS: '60', EVENTS_DELTA_MS: '20' })
  })
  afterAll(() => t.close())

  test('sources first, cited drafts landing, and the finished page with documents, citations and member cards', async () => {
    const user = freshUser('live-docs')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: QUESTION }, [{ name: 'q3-report.txt', bytes: REPORT }]) })
    expect(created.status).toBe(201)
    const sessionId = created.body.id as string
    const run = await t.json('POST', `/api/v1/sessions/${sessionId}/run`, { user })
    expect(run.status).toBe(202)
    const stream = await follow(t, user, `/sessions/${sessionId}/events?job=${run.body.job_id}`)
    const events = await stream.done(30_000)

    expect(events.filter((e) => e.event === 'stage').map((e) => e.data.stage)).toEqual(['sources', 'draft', 'review', 'synthesis'])
    const landed = events.filter((e) => e.event === 'member' && e.data.stage === 'draft' && e.data.state === 'succeeded')
    expect(landed.length).toBe(3)
    for (const draft of landed) expect(draft.data.html).toContain('<a class="citation verified"')
    const done = events.at(-1)!
    expect(done).toMatchObject({ event: 'done', data: { status: 'succeeded' } })
    expect(done.data.html).toContain('id="citations"')
    expect(done.data.html).toContain('<li data-stage="sources" class="done">Reading documents</li>')

    await idle(t)
    const html = await (await t.call('GET', `/sessions/${sessionId}`, { user, headers: { accept: 'text/html' } })).text()
    expect(html).toContain('id="documents"')
    expect(html).toContain('q3-report.txt')
    expect(html).toContain('id="citations"')
    expect(html).toContain('id="members"')
    expect(html).toContain('id="agreement"')
    expect(html.indexOf('id="documents"')).toBeLessThan(html.indexOf('id="progress"'))
    expect(html.match(/class="member"/g)?.length).toBe(4)
  }, 40_000)

  test('a session without sources lists no reading step', async () => {
    const user = freshUser('live-plain')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: QUESTION } })
    await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
    await idle(t)
    const html = await (await t.call('GET', `/sessions/${created.body.id}`, { user, headers: { accept: 'text/html' } })).text()
    expect(html).toContain('data-stage="draft"')
    expect(html).not.toContain('data-stage="sources"')
  })

  test('an extraction job publishes its stage, progress and done to its own stream', async () => {
    const user = freshUser('extract-events')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: QUESTION }, [{ name: 'notes.txt', bytes: REPORT }]) })
    await documentsSettled(t, user, created.body.id)
    const row = (await documentRows(t)).find((doc) => doc.sessionId === created.body.id)!
    const events = await (await follow(t, user, `/api/v1/jobs/${row.jobId}/events`)).done(10_000)
    expect(events.filter((e) => e.event === 'stage').map((e) => e.data.stage)).toEqual(['extract'])
    expect(events.some((e) => e.event === 'progress' && e.data.stage === 'extract')).toBe(true)
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded' } })
  })
})

describe('the new-session form keeps palette, sources and question through refusals', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ WEB_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: 'http://127.0.0.1:9' })
  })
  afterAll(() => t.close())

  const post = (user: string, fields: Record<string, string>) =>
    t.call('POST', '/sessions', { user, headers: { ...HTMX, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })

  test('a palette refusal is said beside the select; the question, choice and counter stay', async () => {
    const admin = { user: 'live-palette-admin@example.com', role: 'admin' }
    const id = `paid-${crypto.randomUUID().slice(0, 8)}`
    const made = await t.json('POST', '/api/admin/palettes', {
      ...admin,
      body: { id, name: 'Paid pair', description: 'Two voices.', agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 500 },
    })
    expect(made.status).toBe(201)
    const user = freshUser('palette-refused')
    const locked = await post(user, { question: 'Kept <with> the palette', palette_id: id, run: 'true' })
    expect(locked.status).toBe(403)
    const html = await locked.text()
    expect(html).toStartWith('<form id="new-session"')
    expect(html).toContain('id="palette-error"')
    expect(html).not.toContain('id="form-error"')
    expect(html).toContain('Kept &lt;with&gt; the palette</textarea>')
    expect(html).toContain('id="question-count"')
    expect(html).toContain('name="web_search"')

    const unknown = await (await post(user, { question: 'Unknown palette', palette_id: 'no-such-one' })).text()
    expect(unknown).toContain('id="palette-error"')
  })

  test('a web search refusal is said beside its field, with the boxes as they were ticked and the palette kept', async () => {
    const user = freshUser('search-refused')
    const res = await post(user, { question: 'Search without the acknowledgement', web_search: 'true', palette_id: 'default', run: 'true' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('id="web-search-error"')
    expect(html).not.toContain('id="form-error"')
    expect(html).toMatch(/name="web_search" value="true" id="web-search" checked/)
    expect(html).toMatch(/<option value="default" selected/)
    expect(html).toContain('Search without the acknowledgement</textarea>')
  })

  test('an upload refusal is said beside the files; the question is kept', async () => {
    const user = freshUser('upload-refused')
    const res = await t.call('POST', '/sessions', {
      user,
      headers: HTMX,
      body: uploadForm({ question: 'A file without the acknowledgement', run: 'true' }, [{ name: 'a.txt', bytes: 'Some text.' }]),
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('id="uploads-error"')
    expect(html).toContain('A file without the acknowledgement</textarea>')
    expect(html).toContain('name="run" value="true" checked')
  })
})
