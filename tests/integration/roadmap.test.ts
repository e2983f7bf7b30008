/**
 * The roadmap through the real app, on the database of the pass (libsql, then
 * PostgreSQL): the seeded board in stable order, filters and pagination per
 * the list rules, linked tickets shown only to those who may see them,
 * admin-only writes (403 for members), validation in the error shape,
 * reorders that stay dense under concurrency, audit events with the
 * response's request id, the write rate limit, and the page's htmx board.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { ROADMAP_SEED } from '../../src/modules/roadmap/seed'
import { buildTestApp, type TestApp } from '../helpers/app'
import { auditOf } from '../helpers/audit-trail'
import { expectErrorShape, freshUser } from './support'

const ADMIN = 'roadmap-admin@example.com'
let t: TestApp
beforeAll(async () => {
  t = await buildTestApp({ ADMIN_EMAILS: ADMIN })
})
afterAll(async () => {
  await t?.close()
})

const create = (body: Record<string, unknown>, user = ADMIN) => t.json('POST', '/api/v1/roadmap', { user, body })
const patch = (id: string, body: Record<string, unknown>, user = ADMIN) => t.json('PATCH', `/api/v1/roadmap/${id}`, { user, body })
/** The titles of a phase's items that match `q`, in board order; and that the whole phase is numbered 0…n-1. */
async function order(phase: string, q: string): Promise<string[]> {
  const items = (await t.json('GET', `/api/v1/roadmap?phase=${phase}&limit=200`, { user: ADMIN })).body.items as Array<{ title: string; position: number }>
  expect(items.map((item) => item.position)).toEqual(items.map((_, index) => index))
  return items.filter((item) => item.title.includes(q)).map((item) => item.title)
}

describe('GET /api/v1/roadmap', () => {
  test('a member sees the seeded items in board order: now, next, later, then position', async () => {
    const res = await t.json('GET', '/api/v1/roadmap?limit=200', { user: freshUser() })
    expect(res.status).toBe(200)
    const seeded = res.body.items.filter((item: { created_by: string | null }) => item.created_by === null)
    expect(seeded.map((item: { title: string }) => item.title)).toEqual(ROADMAP_SEED.map((item) => item.title))
    const ranks = res.body.items.map((item: { phase: string; position: number }) => `${['now', 'next', 'later'].indexOf(item.phase)}.${item.position}`)
    expect([...ranks].sort((a, b) => Number(a) - Number(b))).toEqual(ranks)
    expect(res.body.items[0].description_html).toContain('<strong>')
  })

  test('filters by phase, status and text', async () => {
    const user = freshUser()
    const next = await t.json('GET', '/api/v1/roadmap?phase=next', { user })
    expect(next.body.items.length).toBeGreaterThan(0)
    expect(next.body.items.every((item: { phase: string }) => item.phase === 'next')).toBe(true)
    const shipped = await t.json('GET', '/api/v1/roadmap?status=shipped', { user })
    expect(shipped.body.items.map((item: { status: string }) => item.status)).toEqual(shipped.body.items.map(() => 'shipped'))
    const found = await t.json('GET', '/api/v1/roadmap?q=SIEM', { user })
    expect(found.body.items.map((item: { title: string }) => item.title)).toEqual(['Audit streaming to a SIEM'])
  })

  test('pages per the list rules: default 25, clamped to 200, a cursor that continues, bad values refused', async () => {
    const user = freshUser()
    const all = await t.json('GET', '/api/v1/roadmap', { user })
    expect(all.body.limit).toBe(25)
    const first = await t.json('GET', '/api/v1/roadmap?limit=3', { user })
    expect(first.body.items).toHaveLength(3)
    expect(first.body.next_cursor).toBeString()
    const rest = await t.json('GET', `/api/v1/roadmap?limit=200&cursor=${first.body.next_cursor}`, { user })
    expect([...first.body.items, ...rest.body.items].map((item: { id: string }) => item.id)).toEqual(all.body.items.map((item: { id: string }) => item.id))
    expect(rest.body.next_cursor).toBeNull()
    expect((await t.json('GET', '/api/v1/roadmap?limit=5000', { user })).body.limit).toBe(200)
    expectErrorShape(expect, await t.json('GET', '/api/v1/roadmap?limit=0', { user }), 422, 'validation_failed')
    expectErrorShape(expect, await t.json('GET', '/api/v1/roadmap?cursor=bm9wZQ', { user }), 400, 'invalid_cursor')
    expectErrorShape(expect, await t.json('GET', '/api/v1/roadmap?phase=someday', { user }), 422, 'validation_failed')
  })

  test('needs a signed-in caller', async () => {
    expectErrorShape(expect, await t.json('GET', '/api/v1/roadmap'), 401, 'unauthenticated')
  })
})

describe('GET /api/v1/roadmap/:id and linked tickets', () => {
  test('an item lists only the linked tickets the caller may see', async () => {
    const item = (await create({ title: `Linked ${crypto.randomUUID()}`, phase: 'later' })).body
    const [ann, bob] = [freshUser('ann'), freshUser('bob')]
    const mine = (await t.json('POST', '/api/v1/tickets', { user: ann, body: { title: 'Private ask', body: 'Mine', kind: 'feature' } })).body
    const shared = (await t.json('POST', '/api/v1/tickets', { user: ann, body: { title: 'Shared ask', body: 'Ours', kind: 'feature' } })).body
    expect((await t.json('PATCH', `/api/v1/tickets/${mine.id}`, { user: ADMIN, body: { roadmap_item_id: item.id } })).status).toBe(200)
    expect((await t.json('PATCH', `/api/v1/tickets/${shared.id}`, { user: ADMIN, body: { roadmap_item_id: item.id, public: true } })).status).toBe(200)
    const titles = async (user: string) => (await t.json('GET', `/api/v1/roadmap/${item.id}`, { user })).body.tickets.map((x: { title: string }) => x.title)
    expect(await titles(ann)).toEqual(['Private ask', 'Shared ask'])
    expect(await titles(bob)).toEqual(['Shared ask'])
    expect(await titles(ADMIN)).toEqual(['Private ask', 'Shared ask'])
    const listed = await t.json('GET', `/api/v1/roadmap?q=${encodeURIComponent(item.title)}`, { user: bob })
    expect(listed.body.items[0].tickets.map((x: { id: string }) => x.id)).toEqual([shared.id])
  })

  test('an unknown or malformed id is 404 in the error shape', async () => {
    expectErrorShape(expect, await t.json('GET', `/api/v1/roadmap/${crypto.randomUUID()}`, { user: freshUser() }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', '/api/v1/roadmap/not-an-id', { user: freshUser() }), 404, 'not_found')
  })
})

describe('admin writes', () => {
  test('members are refused every write with 403 naming roadmap:manage', async () => {
    const member = freshUser()
    const id = (await t.json('GET', '/api/v1/roadmap?limit=1', { user: member })).body.items[0].id
    for (const res of [
      await create({ title: 'Mine now', phase: 'now' }, member),
      await patch(id, { move: 'down' }, member),
      await t.json('DELETE', `/api/v1/roadmap/${id}`, { user: member }),
    ]) {
      expectErrorShape(expect, res, 403, 'forbidden')
      expect(res.body.error.message).toContain('roadmap:manage')
    }
  })

  test('create validates in the error shape, naming the field', async () => {
    const blank = await create({ title: '   ', phase: 'now' })
    expectErrorShape(expect, blank, 422, 'validation_failed')
    expect(blank.body.error.message).toContain('"title"')
    expectErrorShape(expect, await create({ title: 'x'.repeat(201), phase: 'now' }), 422, 'validation_failed')
    expectErrorShape(expect, await create({ title: 'No phase' }), 422, 'validation_failed')
    expectErrorShape(expect, await create({ title: 'Bad phase', phase: 'someday' }), 422, 'validation_failed')
    expectErrorShape(expect, await create({ title: 'Bad status', phase: 'now', status: 'maybe' }), 422, 'validation_failed')
  })

  test('create, move, change phase and delete: positions stay 0…n-1; every change is audited with the request id', async () => {
    const tag = `order-${crypto.randomUUID().slice(0, 8)}`
    const made = []
    for (const n of [1, 2, 3]) {
      const res = await create({ title: `${tag} ${n}`, phase: 'later', description: `Item **${n}**` })
      expect(res.status).toBe(201)
      expect(res.headers.get('location')).toBe(`/api/v1/roadmap/${res.body.id}`)
      made.push(res.body)
    }
    const first = await create({ title: `${tag} 0`, phase: 'later', position: 0 })
    expect(first.body.position).toBe(0)
    expect(await order('later', tag)).toEqual([`${tag} 0`, `${tag} 1`, `${tag} 2`, `${tag} 3`])

    const moved = await patch(made[2].id, { move: 'up' })
    expect(moved.status).toBe(200)
    expect(await order('later', tag)).toEqual([`${tag} 0`, `${tag} 1`, `${tag} 3`, `${tag} 2`])
    expect((await patch(made[2].id, { move: 'top' })).body.position).toBe(0)
    await patch(made[0].id, { position: 999 })
    expect(await order('later', tag)).toEqual([`${tag} 3`, `${tag} 0`, `${tag} 2`, `${tag} 1`])

    const events = await auditOf(t, moved.headers.get('x-request-id')!, ADMIN)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ action: 'roadmap.move', actor: ADMIN, role: 'admin', target: `roadmap_item:${made[2].id}` })

    const toNow = await patch(made[1].id, { phase: 'now', status: 'in_progress', title: `${tag} 2 now` })
    expect(toNow.body).toMatchObject({ phase: 'now', status: 'in_progress', title: `${tag} 2 now` })
    expect(await order('later', tag)).toEqual([`${tag} 3`, `${tag} 0`, `${tag} 1`])
    expect(await order('now', tag)).toEqual([`${tag} 2 now`])
    const update = (await auditOf(t, toNow.headers.get('x-request-id')!, ADMIN))[0]!
    expect(update.action).toBe('roadmap.update')
    expect(update.metadata).toMatchObject({ fields: ['title', 'status', 'phase'], phase: 'now', status: 'in_progress' })

    const gone = await t.json('DELETE', `/api/v1/roadmap/${made[0].id}`, { user: ADMIN })
    expect(gone.status).toBe(204)
    expect(await order('later', tag)).toEqual([`${tag} 3`, `${tag} 0`])
    expect((await auditOf(t, gone.headers.get('x-request-id')!, ADMIN))[0]).toMatchObject({ action: 'roadmap.delete', target: `roadmap_item:${made[0].id}` })
    expectErrorShape(expect, await t.json('GET', `/api/v1/roadmap/${made[0].id}`, { user: ADMIN }), 404, 'not_found')
    expectErrorShape(expect, await t.json('DELETE', `/api/v1/roadmap/${made[0].id}`, { user: ADMIN }), 404, 'not_found')
  })

  test('PATCH refuses move together with position, and unknown moves', async () => {
    const id = (await create({ title: 'Refusals', phase: 'next' })).body.id
    expectErrorShape(expect, await patch(id, { move: 'up', position: 0 }), 422, 'validation_failed')
    expectErrorShape(expect, await patch(id, { move: 'sideways' }), 422, 'validation_failed')
    expectErrorShape(expect, await patch(id, { position: -1 }), 422, 'validation_failed')
    expectErrorShape(expect, await patch(crypto.randomUUID(), { move: 'up' }), 404, 'not_found')
  })

  test('concurrent moves leave every position of the phase used exactly once', async () => {
    const tag = `race-${crypto.randomUUID().slice(0, 8)}`
    const ids: string[] = []
    for (let n = 0; n < 5; n++) ids.push((await create({ title: `${tag} ${n}`, phase: 'next' })).body.id)
    const moves = ['up', 'down', 'top', 'bottom'] as const
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => patch(ids[i % ids.length]!, { move: moves[i % moves.length] })))
    expect(results.map((res) => res.status)).toEqual(results.map(() => 200))
    expect(await order('next', tag)).toHaveLength(5)
  })
})

describe('the page /roadmap', () => {
  test('shows Now / Next / Later; the htmx filter answers the board alone', async () => {
    const user = freshUser()
    const page = await (await t.call('GET', '/roadmap', { user })).text()
    for (const phase of ['now', 'next', 'later']) expect(page).toContain(`data-phase="${phase}"`)
    expect(page).toContain('id="roadmap-filter"')
    expect(page).not.toContain('data-move=')
    const fragment = await (await t.call('GET', '/roadmap?phase=next', { user, headers: { 'hx-request': 'true' } })).text()
    expect(fragment.startsWith('<section id="roadmap-board"')).toBe(true)
    expect(fragment).toContain('data-phase="next"')
    expect(fragment).not.toContain('data-phase="now"')
  })

  test('an admin moves an item with htmx and gets the board back, filtered as it was', async () => {
    const tag = `page-${crypto.randomUUID().slice(0, 8)}`
    const a = (await create({ title: `${tag} a`, phase: 'later' })).body
    const b = (await create({ title: `${tag} b`, phase: 'later' })).body
    const res = await t.call('POST', `/roadmap/items/${b.id}/move?phase=later&q=${tag}`, {
      user: ADMIN,
      headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'move=up',
    })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('id="roadmap-ok"')
    expect(html.indexOf(`id="item-${b.id}"`)).toBeLessThan(html.indexOf(`id="item-${a.id}"`))
    expect(html).not.toContain('data-phase="now"')
    const refused = await t.call('POST', `/roadmap/items/${b.id}/move`, {
      user: freshUser(),
      headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'move=up',
    })
    expect(refused.status).toBe(403)
  })

  test('a refused add comes back in the board with what was typed', async () => {
    const res = await t.call('POST', '/roadmap/items', {
      user: ADMIN,
      headers: { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'title=&description=Kept%20text&phase=next&status=planned',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('id="roadmap-error"')
    expect(html).toContain('Kept text')
  })
})

describe('rate limit "write"', () => {
  let limited: TestApp
  beforeAll(async () => {
    limited = await buildTestApp({ ADMIN_EMAILS: ADMIN, RATE_LIMITS: 'write=2/1m' })
  })
  afterAll(async () => {
    await limited?.close()
  })

  test('the third write in a minute is 429 with Retry-After', async () => {
    const body = { title: 'Limited', phase: 'now' }
    expect((await limited.json('POST', '/api/v1/roadmap', { user: ADMIN, body })).status).toBe(201)
    expect((await limited.json('POST', '/api/v1/roadmap', { user: ADMIN, body })).status).toBe(201)
    const refused = await limited.json('POST', '/api/v1/roadmap', { user: ADMIN, body })
    expectErrorShape(expect, refused, 429, 'rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})
