/**
 * Palette administration and the palette pages, on the database of the pass:
 * admins create, edit and price palettes (agents and chair must exist, 1–12
 * agents, a price ≥ 0), each change audited with what changed; members cannot;
 * repricing never locks out who unlocked; /palettes unlocks a card in place
 * (checkout, then confirm with the dev proof); /sessions/new offers the
 * palettes, locked ones shown but not selectable.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser } from './support'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
  // Enough agents to go past the 12-member limit.
  const now = new Date()
  await t.deps.stores.catalog.insertMissing(
    Array.from({ length: 13 }, (_, i) => ({ name: `extra-${i}`, description: 'x', persona: 'You are Extra.', model: 'offline-small', temperature: 0.1, createdAt: now, updatedAt: now })),
    [],
  )
})
afterAll(async () => {
  await t?.close()
})

const ADMIN = { user: 'palette-admin@example.com', role: 'admin' }
const HTMX_FORM = { 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' }
const slug = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`
const valid = (id: string) => ({ id, name: 'Quick pair', description: 'Two voices.', agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 0 })

describe('the admin API', () => {
  test('an admin creates a palette (201, audited); a member may not (403)', async () => {
    const id = slug('pair')
    expectErrorShape(expect, await t.json('POST', '/api/admin/palettes', { user: freshUser(), body: valid(id) }), 403)
    const made = await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: valid(id) })
    expect(made.status).toBe(201)
    expect(made.body).toEqual({ id, name: 'Quick pair', description: 'Two voices.', agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 0, unlocked: true })
    const listed = (await t.json('GET', '/api/v1/palettes', { user: freshUser() })).body.items.find((palette: { id: string }) => palette.id === id)
    expect(listed).toMatchObject({ unlocked: true, price_cents: 0 })
    const events = (await t.json('GET', `/api/admin/audit?target=${encodeURIComponent(`palette:${id}`)}`, ADMIN)).body.items
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ action: 'palette.create', actor: ADMIN.user, metadata: { agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 0 } })
    expectErrorShape(expect, await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: valid(id) }), 409, 'palette_exists')
  })

  test('validation: agents and chair exist, 1–12 agents, a price ≥ 0, a name', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ agents: ['analyst', 'ghost'] }, 'ghost'],
      [{ agents: [] }, 'agents'],
      [{ agents: Array.from({ length: 13 }, (_, i) => `extra-${i}`) }, '12'],
      [{ chair: 'nobody' }, 'chair'],
      [{ price_cents: -1 }, 'price_cents'],
      [{ name: '   ' }, 'name'],
    ]
    for (const [change, mentions] of cases) {
      const res = await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: { ...valid(slug('bad')), ...change } })
      expectErrorShape(expect, res, 422)
      expect(res.body.error.message).toContain(mentions)
    }
    expectErrorShape(expect, await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: { ...valid('Not A Slug') } }), 422)
    const twelve = await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: { ...valid(slug('twelve')), agents: Array.from({ length: 12 }, (_, i) => `extra-${i}`) } })
    expect(twelve.status).toBe(201)
  })

  test('an admin edits and prices a palette; the event lists what changed; a no-op writes none', async () => {
    const id = slug('edit')
    await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: valid(id) })
    const edited = await t.json('PATCH', `/api/admin/palettes/${id}`, { ...ADMIN, body: { price_cents: 1250, agents: ['analyst', 'skeptic', 'economist'] } })
    expect(edited.status).toBe(200)
    expect(edited.body).toMatchObject({ price_cents: 1250, agents: ['analyst', 'skeptic', 'economist'], name: 'Quick pair' })
    expect((await t.json('PATCH', `/api/admin/palettes/${id}`, { ...ADMIN, body: { price_cents: 1250 } })).status).toBe(200)
    const events = (await t.json('GET', `/api/admin/audit?action=palette.update&target=${encodeURIComponent(`palette:${id}`)}`, ADMIN)).body.items
    expect(events).toHaveLength(1)
    expect(events[0].metadata.changes).toEqual({
      priceCents: { from: 0, to: 1250 },
      agentNames: { from: ['analyst', 'skeptic'], to: ['analyst', 'skeptic', 'economist'] },
    })
    expectErrorShape(expect, await t.json('PATCH', '/api/admin/palettes/missing-one', { ...ADMIN, body: { price_cents: 1 } }), 404)
    expectErrorShape(expect, await t.json('PATCH', `/api/admin/palettes/${id}`, { ...ADMIN, body: { chair: 'ghost' } }), 422)
    expectErrorShape(expect, await t.json('PATCH', `/api/admin/palettes/${id}`, { user: freshUser(), body: { price_cents: 0 } }), 403)
  })

  test('repricing never locks out someone who unlocked the palette', async () => {
    const id = slug('priced')
    await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: { ...valid(id), price_cents: 300 } })
    const user = freshUser('early-bird')
    const started = (await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: id } })).body
    await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: started.dev_proof } })
    await t.json('PATCH', `/api/admin/palettes/${id}`, { ...ADMIN, body: { price_cents: 9900 } })
    const mine = (await t.json('GET', '/api/v1/palettes', { user })).body.items.find((palette: { id: string }) => palette.id === id)
    expect(mine).toMatchObject({ price_cents: 9900, unlocked: true })
    expect((await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Still mine?', palette_id: id } })).status).toBe(201)
  })
})

describe('/admin/palettes', () => {
  test('admins see every palette with an edit form; members get 403', async () => {
    const page = await t.call('GET', '/admin/palettes', ADMIN)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('id="admin-palette-expert-panel"')
    expect(html).toContain('id="new-palette-form"')
    expect((await t.call('GET', '/admin/palettes', { user: freshUser() })).status).toBe(403)
  })

  test('the forms create and price in place; a refusal keeps what was typed', async () => {
    const id = slug('form')
    const made = await t.call('POST', '/admin/palettes', { ...ADMIN, headers: HTMX_FORM, body: `id=${id}&name=Form+made&agents=analyst&agents=historian&chair=chair&price=4.5` })
    expect(made.status).toBe(200)
    expect(await made.text()).toContain('id="palette-admin-done"')
    const palette = await t.deps.stores.catalog.palette(id)
    expect(palette).toMatchObject({ name: 'Form made', agentNames: ['analyst', 'historian'], priceCents: 450 })

    const refused = await t.call('POST', `/admin/palettes/${id}`, { ...ADMIN, headers: HTMX_FORM, body: 'name=Renamed&agents=analyst&chair=chair&price=lots' })
    expect(refused.status).toBe(422)
    const html = await refused.text()
    expect(html).toContain(`id="palette-form-error-${id}"`)
    expect(html).toContain('value="Renamed"')
    expect((await t.deps.stores.catalog.palette(id))?.name).toBe('Form made')

    const priced = await t.call('POST', `/admin/palettes/${id}`, { ...ADMIN, headers: HTMX_FORM, body: 'name=Form+made&agents=analyst&chair=chair&price=12' })
    expect(priced.status).toBe(200)
    expect((await t.deps.stores.catalog.palette(id))?.priceCents).toBe(1200)
  })
})

describe('/palettes and /sessions/new', () => {
  test('a card unlocks in place: checkout shows the pending payment with the dev proof, confirm turns it unlocked', async () => {
    const user = freshUser('carder')
    const page = await (await t.call('GET', '/palettes', { user })).text()
    expect(page).toContain('data-state="locked"')
    expect(page).toContain('Unlock for $19.00')
    const pending = await t.call('POST', '/palettes/expert-panel/checkout', { user, headers: HTMX_FORM, body: '' })
    expect(pending.status).toBe(200)
    const card = await pending.text()
    expect(card.startsWith('<article class="card palette" id="palette-expert-panel"')).toBe(true)
    expect(card).toContain('data-state="pending"')
    const paymentId = /name="payment_id" value="([^"]+)"/.exec(card)![1]!
    const proof = /name="proof" value="([0-9a-f]{64})"/.exec(card)![1]!
    const wrong = await t.call('POST', '/palettes/expert-panel/confirm', { user, headers: HTMX_FORM, body: `payment_id=${paymentId}&proof=${'0'.repeat(64)}` })
    expect(wrong.status).toBe(403)
    expect(await wrong.text()).toContain('data-state="locked"')
    const done = await t.call('POST', '/palettes/expert-panel/confirm', { user, headers: HTMX_FORM, body: `payment_id=${paymentId}&proof=${proof}` })
    expect(done.status).toBe(200)
    const unlocked = await done.text()
    expect(unlocked).toContain('data-state="unlocked"')
    expect(unlocked).toContain('href="/sessions/new?palette=expert-panel"')
  })

  test('/sessions/new offers the palettes: locked ones disabled and linked to /palettes, the chosen one selected', async () => {
    const user = freshUser('former')
    const html = await (await t.call('GET', '/sessions/new?palette=default', { user })).text()
    expect(html).toMatch(/<option value="default" selected>/)
    expect(html).toMatch(/<option value="expert-panel" disabled>/)
    expect(html).toContain('href="/palettes"')
    const asked = await (await t.call('GET', '/sessions/new?palette=expert-panel', { user })).text()
    expect(asked).toMatch(/<option value="default" selected>/)
    expect(asked).not.toMatch(/<option value="expert-panel"[^>]*selected/)
    const refused = await t.call('POST', '/sessions', { user, headers: HTMX_FORM, body: 'question=Keep+me&palette_id=expert-panel' })
    expect(refused.status).toBe(403)
    const form = await refused.text()
    expect(form).toContain('Keep me')
    expect(form).toContain('locked')
  })
})
