/**
 * Tickets through the real app, on the database of the pass (libsql, then
 * PostgreSQL): filing with validation in the error shape; another member's
 * private ticket is 404 everywhere; triage fields for triagers only; the
 * author edits while open; comments; list filters and pagination per the
 * list rules; audit events without content; the OWASP payloads rendered inert
 * in tickets and comments (API and page); the page forms with htmx.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { auditOf } from '../helpers/audit-trail'
import { inertProblems, XSS_PAYLOADS } from '../helpers/xss'
import { expectErrorShape, freshUser } from './support'

const ADMIN = 'tickets-admin@example.com'
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ ADMIN_EMAILS: ADMIN })
})
afterAll(async () => {
  await t?.close()
})

const file = (user: string, body: Record<string, unknown> = {}) =>
  t.json('POST', '/api/v1/tickets', { user, body: { title: 'Export is slow', body: 'It takes *minutes*.', kind: 'bug', ...body } })
const patch = (id: string, body: Record<string, unknown>, user = ADMIN) => t.json('PATCH', `/api/v1/tickets/${id}`, { user, body })
const form = (user: string, body: string, headers: Record<string, string> = {}) => ({
  user,
  body,
  headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded', ...headers },
})

describe('filing a ticket', () => {
  test('201 with the ticket: open, normal priority, private, body rendered; audited without its text', async () => {
    const user = freshUser()
    const res = await file(user, { title: 'Secret title words', body: 'Secret body words **bold**' })
    expect(res.status).toBe(201)
    expect(res.headers.get('location')).toBe(`/api/v1/tickets/${res.body.id}`)
    expect(res.body).toMatchObject({ kind: 'bug', status: 'open', priority: 'normal', public: false, roadmap_item_id: null, author: user, editable: true })
    expect(res.body.body_html).toBe('<p>Secret body words <strong>bold</strong></p>\n')
    expect(res.body.comments).toEqual({ items: [], next_cursor: null, limit: 100 })
    const [event] = await auditOf(t, res.headers.get('x-request-id')!, ADMIN)
    expect(event).toMatchObject({ action: 'ticket.create', actor: user, target: `ticket:${res.body.id}` })
    expect(JSON.stringify(event)).not.toContain('Secret')
  })

  test('invalid input is 422 in the error shape, naming the field', async () => {
    const user = freshUser()
    for (const [body, field] of [
      [{ title: '  ' }, 'title'],
      [{ body: '' }, 'body'],
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ kind: 'rant' }, 'kind'],
    ] as const) {
      const res = await file(user, body)
      expectErrorShape(expect, res, 422, 'validation_failed')
      expect(res.body.error.message).toContain(field)
    }
    expectErrorShape(expect, await t.json('POST', '/api/v1/tickets', { user, body: { title: 'No kind', body: 'x' } }), 422, 'validation_failed')
  })

  test('a read-only role may read but not file or comment', async () => {
    const user = freshUser()
    expect((await t.json('GET', '/api/v1/tickets', { user, role: 'readonly' })).status).toBe(200)
    expectErrorShape(expect, await t.json('POST', '/api/v1/tickets', { user, role: 'readonly', body: { title: 'x', body: 'y', kind: 'bug' } }), 403, 'forbidden')
  })
})

describe('who sees what', () => {
  test("another member's private ticket is 404 everywhere; once public it is visible and open to comments", async () => {
    const [ann, bob] = [freshUser('ann'), freshUser('bob')]
    const ticket = (await file(ann)).body
    expectErrorShape(expect, await t.json('GET', `/api/v1/tickets/${ticket.id}`, { user: bob }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/tickets/${ticket.id}/comments`, { user: bob }), 404, 'not_found')
    expectErrorShape(expect, await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user: bob, body: { body: 'hi' } }), 404, 'not_found')
    expectErrorShape(expect, await patch(ticket.id, { title: 'Mine now' }, bob), 404, 'not_found')
    expect((await t.call('GET', `/tickets/${ticket.id}`, { user: bob })).status).toBe(404)
    const bobs = (await t.json('GET', '/api/v1/tickets?limit=200', { user: bob })).body.items.map((x: { id: string }) => x.id)
    expect(bobs).not.toContain(ticket.id)
    expect((await t.json('GET', `/api/v1/tickets/${ticket.id}`, { user: ADMIN })).status).toBe(200)

    expect((await patch(ticket.id, { public: true })).body.public).toBe(true)
    expect((await t.json('GET', `/api/v1/tickets/${ticket.id}`, { user: bob })).body.editable).toBe(false)
    const comment = await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user: bob, body: { body: 'Same here, *twice*.' } })
    expect(comment.status).toBe(201)
    expect(comment.body).toMatchObject({ ticket_id: ticket.id, author: bob, body_html: '<p>Same here, <em>twice</em>.</p>\n' })
    const [event] = await auditOf(t, comment.headers.get('x-request-id')!, ADMIN)
    expect(event).toMatchObject({ action: 'ticket.comment', actor: bob, target: `ticket:${ticket.id}` })
    expect(JSON.stringify(event)).not.toContain('Same here')
    expect((await t.json('GET', `/api/v1/tickets/${ticket.id}`, { user: ann })).body.comments.items.map((c: { author: string }) => c.author)).toEqual([bob])
  })

  test('unknown and malformed ids are 404', async () => {
    expectErrorShape(expect, await t.json('GET', `/api/v1/tickets/${crypto.randomUUID()}`, { user: ADMIN }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', '/api/v1/tickets/nope', { user: ADMIN }), 404, 'not_found')
  })
})

describe('editing and triage', () => {
  test('members cannot triage (403 naming tickets:update), not even their own ticket', async () => {
    const ann = freshUser('ann')
    const ticket = (await file(ann)).body
    for (const body of [{ status: 'done' }, { priority: 'urgent' }, { public: true }, { roadmap_item_id: null }]) {
      const res = await patch(ticket.id, body, ann)
      expectErrorShape(expect, res, 403, 'forbidden')
      expect(res.body.error.message).toContain('tickets:update')
    }
  })

  test('the author edits title and body while open; after triage it is locked (409); others may not (403)', async () => {
    const [ann, bob] = [freshUser('ann'), freshUser('bob')]
    const ticket = (await file(ann)).body
    const edited = await patch(ticket.id, { title: 'Export takes minutes', body: 'Since *Monday*.' }, ann)
    expect(edited.status).toBe(200)
    expect(edited.body).toMatchObject({ title: 'Export takes minutes', body_html: '<p>Since <em>Monday</em>.</p>\n' })
    const [event] = await auditOf(t, edited.headers.get('x-request-id')!, ADMIN)
    expect(event!.metadata).toMatchObject({ fields: ['title', 'body'] })
    expect(JSON.stringify(event)).not.toContain('Monday')
    await patch(ticket.id, { public: true, status: 'triaged' })
    expectErrorShape(expect, await patch(ticket.id, { title: 'Again' }, ann), 409, 'ticket_locked')
    expectErrorShape(expect, await patch(ticket.id, { title: 'Hijack' }, bob), 403, 'forbidden')
    expect((await patch(ticket.id, { title: 'Admin wording' })).body.title).toBe('Admin wording')
  })

  test('triage sets status, priority, visibility and the roadmap link; unknown items are refused; audited', async () => {
    const ticket = (await file(freshUser())).body
    const item = (await t.json('GET', '/api/v1/roadmap?limit=1', { user: ADMIN })).body.items[0]
    const res = await patch(ticket.id, { status: 'in_progress', priority: 'high', public: true, roadmap_item_id: item.id })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ status: 'in_progress', priority: 'high', public: true, roadmap_item_id: item.id, roadmap_item: { id: item.id, title: item.title } })
    const [event] = await auditOf(t, res.headers.get('x-request-id')!, ADMIN)
    expect(event).toMatchObject({ action: 'ticket.update', role: 'admin' })
    expect(event!.metadata).toMatchObject({ status: 'in_progress', previous_status: 'open', priority: 'high', public: true, roadmap_item_id: item.id })
    expectErrorShape(expect, await patch(ticket.id, { roadmap_item_id: crypto.randomUUID() }), 422, 'validation_failed')
    expectErrorShape(expect, await patch(ticket.id, { status: 'closed' }), 422, 'validation_failed')
    expect((await patch(ticket.id, { roadmap_item_id: null })).body.roadmap_item).toBeNull()
  })
})

describe('GET /api/v1/tickets', () => {
  test('filters by status, kind, mine and roadmap item', async () => {
    const [ann, bob] = [freshUser('ann'), freshUser('bob')]
    const bug = (await file(ann)).body
    const feature = (await file(ann, { kind: 'feature' })).body
    const other = (await file(bob, { kind: 'feature' })).body
    await patch(other.id, { public: true, status: 'done' })
    const ids = async (query: string) => (await t.json('GET', `/api/v1/tickets?${query}`, { user: ann })).body.items.map((x: { id: string }) => x.id)
    expect(await ids('mine=true')).toEqual([feature.id, bug.id])
    expect(await ids('mine=true&kind=bug')).toEqual([bug.id])
    expect(await ids('status=done&kind=feature')).toContain(other.id)
    expect(await ids('status=done&mine=true')).toEqual([])
    const item = (await t.json('GET', '/api/v1/roadmap?limit=1', { user: ADMIN })).body.items[0]
    await patch(feature.id, { roadmap_item_id: item.id })
    expect(await ids(`roadmap_item_id=${item.id}&mine=true`)).toEqual([feature.id])
    expectErrorShape(expect, await t.json('GET', '/api/v1/tickets?status=closed', { user: ann }), 422, 'validation_failed')
  })

  test('pages per the list rules', async () => {
    const ann = freshUser('pager')
    const filed = []
    for (let i = 0; i < 4; i++) filed.push((await file(ann)).body.id)
    const first = await t.json('GET', '/api/v1/tickets?mine=true&limit=3', { user: ann })
    expect(first.body.items.map((x: { id: string }) => x.id)).toEqual(filed.slice(1).reverse())
    const next = await t.json('GET', `/api/v1/tickets?mine=true&limit=3&cursor=${first.body.next_cursor}`, { user: ann })
    expect(next.body).toMatchObject({ items: [{ id: filed[0] }], next_cursor: null, limit: 3 })
    expect((await t.json('GET', '/api/v1/tickets?limit=1000', { user: ann })).body.limit).toBe(200)
    expect((await t.json('GET', '/api/v1/tickets', { user: ann })).body.limit).toBe(25)
    expectErrorShape(expect, await t.json('GET', '/api/v1/tickets?limit=0', { user: ann }), 422, 'validation_failed')
    expectErrorShape(expect, await t.json('GET', '/api/v1/tickets?cursor=abc', { user: ann }), 400, 'invalid_cursor')
  })
})

describe('comments', () => {
  test('oldest first, paged; blank or oversized comments are refused', async () => {
    const ann = freshUser('ann')
    const ticket = (await file(ann)).body
    for (const n of [1, 2, 3]) expect((await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user: ann, body: { body: `Comment ${n}` } })).status).toBe(201)
    const page = await t.json('GET', `/api/v1/tickets/${ticket.id}/comments?limit=2`, { user: ann })
    expect(page.body.items.map((c: { body: string }) => c.body)).toEqual(['Comment 1', 'Comment 2'])
    const rest = await t.json('GET', `/api/v1/tickets/${ticket.id}/comments?cursor=${page.body.next_cursor}`, { user: ann })
    expect(rest.body.items.map((c: { body: string }) => c.body)).toEqual(['Comment 3'])
    expectErrorShape(expect, await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user: ann, body: { body: ' ' } }), 422, 'validation_failed')
    expectErrorShape(expect, await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user: ann, body: { body: 'x'.repeat(10_001) } }), 422, 'validation_failed')
  })
})

describe('the OWASP XSS payloads are inert', () => {
  test('in ticket bodies and comments, through the API', async () => {
    for (const { name, source } of XSS_PAYLOADS) {
      const user = freshUser('xss')
      const ticket = await file(user, { title: name, body: `Payload follows.\n\n${source}` })
      expect(ticket.status).toBe(201)
      expect({ name, problems: inertProblems(ticket.body.body_html) }).toEqual({ name, problems: [] })
      const comment = await t.json('POST', `/api/v1/tickets/${ticket.body.id}/comments`, { user, body: { body: source } })
      expect({ name, problems: inertProblems(comment.body.body_html) }).toEqual({ name, problems: [] })
      // What the author wrote is kept as written (it is data), only its rendering is made safe.
      expect(comment.body.body).toBe(source.trim())
    }
  })

  test('on the ticket page, in the title, the body and the thread', async () => {
    const user = freshUser('xss-page')
    const all = XSS_PAYLOADS.map((p) => p.source).join('\n\n')
    const ticket = (await file(user, { title: `<script>alert(1)</script><img src=x onerror=alert(1)>`, body: all })).body
    await t.json('POST', `/api/v1/tickets/${ticket.id}/comments`, { user, body: { body: all } })
    const page = await (await t.call('GET', `/tickets/${ticket.id}`, { user })).text()
    // The title is text wherever it appears outside attribute values: in the heading and the window title.
    expect(page).toContain('<h1 class="ticket-heading">&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</h1>')
    expect(page).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;')
    // The author's edit form holds the source as escaped text, so it cannot close the textarea.
    expect(page).toContain('<textarea id="edit-body" name="body" required maxlength="20000">&lt;script&gt;alert(&#x27;XSS&#x27;)&lt;/script&gt;')
    expect(page.match(/<\/textarea>/g)).toHaveLength(2)
    // The rendered markdown (ticket body and the comment) holds only the sanitiser's tags and attributes.
    const rendered = [...page.matchAll(/<div class="markdown"[^>]*>([\s\S]*?)<\/div>/g)].map((match) => match[1]!)
    expect(rendered).toHaveLength(2)
    for (const fragment of rendered) expect(inertProblems(fragment)).toEqual([])
  })
})

describe('the pages', () => {
  test('a refused new ticket comes back with the message and what was typed', async () => {
    const res = await t.call('POST', '/tickets', form(freshUser(), 'kind=feature&title=&body=Keep%20this%20text'))
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('id="new-ticket-error"')
    expect(html).toContain('Keep this text')
    expect(html).toContain('<option value="feature" selected')
  })

  test('a filed ticket sends htmx to its page; triage and comments come back in place', async () => {
    const ann = freshUser('ann')
    const filed = await t.call('POST', '/tickets', form(ann, 'kind=question&title=How%20do%20I%20export%3F&body=Looking%20for%20CSV'))
    expect(filed.status).toBe(200)
    const location = filed.headers.get('hx-location')!
    expect(location).toMatch(/^\/tickets\/[0-9a-f-]{36}$/)
    const id = location.split('/').pop()!
    const triaged = await t.call('POST', `/tickets/${id}/triage`, form(ADMIN, 'status=triaged&priority=high&roadmap_item_id=&public=true'))
    expect(triaged.status).toBe(200)
    const main = await triaged.text()
    expect(main.startsWith('<section id="ticket-main"')).toBe(true)
    expect(main).toContain('Triage saved.')
    expect((await t.json('GET', `/api/v1/tickets/${id}`, { user: ann })).body).toMatchObject({ status: 'triaged', priority: 'high', public: true })
    expect((await t.call('POST', `/tickets/${id}/triage`, form(ann, 'status=done'))).status).toBe(403)
    const thread = await t.call('POST', `/tickets/${id}/comments`, form(ann, 'body=Thanks%21'))
    expect(thread.status).toBe(200)
    const threadHtml = await thread.text()
    expect(threadHtml.startsWith('<section id="thread"')).toBe(true)
    expect(threadHtml).toContain('<p>Thanks!</p>')
    const blank = await t.call('POST', `/tickets/${id}/comments`, form(ann, 'body=%20'))
    expect(blank.status).toBe(422)
    expect(await blank.text()).toContain('id="comment-error"')
  })

  test('the list page filters with htmx and says its times are UTC', async () => {
    const ann = freshUser('ann')
    await file(ann, { title: 'Filter me' })
    const page = await (await t.call('GET', '/tickets?mine=true', { user: ann })).text()
    expect(page).toContain('Filter me')
    expect(page).toContain('Filed (UTC)')
    const fragment = await (await t.call('GET', '/tickets?mine=true&kind=question', { user: ann, headers: { 'hx-request': 'true' } })).text()
    expect(fragment.startsWith('<section id="ticket-results"')).toBe(true)
    expect(fragment).toContain('No tickets match.')
  })
})
