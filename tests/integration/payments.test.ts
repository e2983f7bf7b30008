/**
 * Palettes and payments through the real app, on the database of the pass
 * (libsql, then PostgreSQL): palettes show `unlocked` per caller; checkout and
 * confirm with the dev proof unlock once, a wrong proof changes nothing; the
 * provider's webhook is refused when forged or out of tolerance, and replayed,
 * duplicated or reordered deliveries unlock once and never revoke; sessions
 * refuse unknown (422) and locked (403 palette_locked) palettes at create and
 * at run; every step is on the audit trail without a secret.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signWebhook } from '../../plugins/auth/signature'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser } from './support'

let t: TestApp
beforeAll(async () => {
  t = await buildTestApp()
})
afterAll(async () => {
  await t?.close()
})

const ADMIN = { user: 'pay-admin@example.com', role: 'admin' }

async function checkout(user: string, paletteId = 'expert-panel') {
  const res = await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: paletteId } })
  expect(res.status).toBe(201)
  return res.body as { payment_id: string; status: string; palette_id: string; amount_cents: number; dev_proof: string }
}

const unlocked = async (user: string, paletteId = 'expert-panel') =>
  (await t.json('GET', '/api/v1/palettes', { user })).body.items.find((palette: { id: string }) => palette.id === paletteId).unlocked as boolean

const audit = async (filters: string) => (await t.json('GET', `/api/admin/audit?limit=200&${filters}`, ADMIN)).body.items as Array<Record<string, any>>

/** Delivers an event as the provider does; `sign` changes how the signature is made. */
async function deliver(event: Record<string, unknown>, sign: (body: string) => string = (body) => signWebhook(t.config.payments.webhookSecret!, body)) {
  const body = JSON.stringify(event)
  return t.json('POST', '/api/v1/payments/webhook', { body, headers: { 'content-type': 'application/json', 'x-signature': sign(body) } })
}

const succeeded = (paymentId: string, id = `evt_${crypto.randomUUID()}`, amount = 1900) => ({
  id,
  type: 'payment.succeeded',
  data: { payment_id: paymentId, amount_cents: amount, provider_ref: `ch_${id}` },
})
const failed = (paymentId: string, id = `evt_${crypto.randomUUID()}`) => ({ id, type: 'payment.failed', data: { payment_id: paymentId } })

describe('GET /api/v1/palettes', () => {
  test('every palette with its members, chair and price; free ones unlocked, priced ones locked for a newcomer', async () => {
    const res = await t.json('GET', '/api/v1/palettes', { user: freshUser() })
    expect(res.status).toBe(200)
    const byId = Object.fromEntries(res.body.items.map((palette: { id: string }) => [palette.id, palette]))
    expect(Object.keys(byId['default']).sort()).toEqual(['agents', 'chair', 'description', 'id', 'name', 'price_cents', 'unlocked'])
    expect(byId['default']).toMatchObject({ price_cents: 0, unlocked: true, chair: 'chair', agents: ['analyst', 'skeptic', 'pragmatist'] })
    expect(byId['expert-panel']).toMatchObject({ name: 'Expert panel', price_cents: 1900, unlocked: false })
    expect(byId['expert-panel'].agents.length).toBeGreaterThanOrEqual(7)
    expect(res.body.items[0].price_cents).toBe(0)
  })

  test('needs a caller', async () => {
    expectErrorShape(expect, await t.json('GET', '/api/v1/palettes'), 401)
  })
})

describe('checkout and confirm with the dev proof', () => {
  test('checkout answers 201 pending with a dev proof outside production; free, unknown and unlocked palettes are refused', async () => {
    const user = freshUser('buyer')
    const started = await checkout(user)
    expect(started).toMatchObject({ status: 'pending', palette_id: 'expert-panel', amount_cents: 1900 })
    expect(started.dev_proof).toMatch(/^[0-9a-f]{64}$/)
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: 'default' } }), 409, 'palette_free')
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: 'no-such' } }), 422, 'unknown_palette')
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: 'Bad Id' } }), 422)
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { user, role: 'readonly', body: { palette_id: 'strategy' } }), 403)
    await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: started.dev_proof } })
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { user, body: { palette_id: 'expert-panel' } }), 409, 'already_unlocked')
  })

  test('a wrong proof changes nothing (403 invalid_proof); the right one unlocks, idempotently, once', async () => {
    const user = freshUser('buyer')
    const started = await checkout(user)
    const wrong = await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: 'f'.repeat(64) } })
    expectErrorShape(expect, wrong, 403, 'invalid_proof')
    expect((await t.deps.stores.payments.payment(started.payment_id))?.status).toBe('pending')
    expect(await unlocked(user)).toBe(false)
    // The proof of another payment is wrong for this one.
    const other = await checkout(user)
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: other.dev_proof } }), 403, 'invalid_proof')

    for (let i = 0; i < 2; i++) {
      const ok = await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: started.dev_proof } })
      expect(ok.status).toBe(200)
      expect(ok.body).toEqual({ payment_id: started.payment_id, palette_id: 'expert-panel', status: 'succeeded', unlocked: true })
    }
    expect(await unlocked(user)).toBe(true)
    const me = (await t.json('GET', '/api/v1/me', { user })).body
    expect(await t.deps.stores.payments.unlockedPalettes(me.id)).toEqual(['expert-panel'])
    const grants = await audit(`action=entitlement.granted&actor=${encodeURIComponent(user)}`)
    expect(grants).toHaveLength(1)
  })

  test("another user's payment is 404, as is an id that is not one", async () => {
    const owner = freshUser('owner')
    const started = await checkout(owner)
    const thief = freshUser('thief')
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/confirm', { user: thief, body: { payment_id: started.payment_id, proof: started.dev_proof } }), 404)
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/confirm', { user: thief, body: { payment_id: 'nope', proof: 'x' } }), 404)
    expect(await unlocked(thief)).toBe(false)
    expect((await t.deps.stores.payments.payment(started.payment_id))?.status).toBe('pending')
  })

  test('each step is audited, and no proof reaches the trail', async () => {
    const user = freshUser('audited')
    const started = await checkout(user)
    await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: 'a'.repeat(64) } })
    await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: started.dev_proof } })
    const events = await audit(`actor=${encodeURIComponent(user)}`)
    const actions = events.map((event) => event.action)
    for (const action of ['payment.checkout', 'payment.confirm_refused', 'payment.confirm', 'payment.succeeded', 'entitlement.granted']) expect(actions).toContain(action)
    expect(events.find((event) => event.action === 'payment.checkout')).toMatchObject({ target: `payment:${started.payment_id}`, metadata: { palette_id: 'expert-panel', amount_cents: 1900 } })
    expect(JSON.stringify(events)).not.toContain(started.dev_proof)
  })
})

describe('the provider webhook', () => {
  test('a forged signature, a missing one or an out-of-tolerance timestamp changes nothing', async () => {
    const user = freshUser('hooked')
    const started = await checkout(user)
    const event = succeeded(started.payment_id)
    expectErrorShape(expect, await deliver(event, (body) => signWebhook('x'.repeat(40), body)), 401, 'invalid_signature')
    expectErrorShape(expect, await deliver(event, () => 'v1=abc'), 401, 'invalid_signature')
    const old = Math.floor(Date.now() / 1000) - 301
    expectErrorShape(expect, await deliver(event, (body) => signWebhook(t.config.payments.webhookSecret!, body, old)), 401, 'signature_expired')
    const future = Math.floor(Date.now() / 1000) + 301
    expectErrorShape(expect, await deliver(event, (body) => signWebhook(t.config.payments.webhookSecret!, body, future)), 401, 'signature_expired')
    // Unsigned: a person is not the provider, whatever their roles.
    const unsigned = await t.json('POST', '/api/v1/payments/webhook', { user, role: 'admin', body: JSON.stringify(event), headers: { 'content-type': 'application/json' } })
    expectErrorShape(expect, unsigned, 403)
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/webhook', { user, role: 'payments-provider', body: JSON.stringify(event) }), 403)
    expect((await t.deps.stores.payments.payment(started.payment_id))?.status).toBe('pending')
    expect(await unlocked(user)).toBe(false)
    // None of it was recorded: the genuine delivery of the same event is processed.
    expect((await deliver(event)).body.outcome).toBe('granted')
  })

  test('a replayed or duplicated event unlocks once; concurrent duplicates too', async () => {
    const user = freshUser('dupes')
    const started = await checkout(user)
    const event = succeeded(started.payment_id)
    const body = JSON.stringify(event)
    const headers = { 'content-type': 'application/json', 'x-signature': signWebhook(t.config.payments.webhookSecret!, body) }
    const first = await t.json('POST', '/api/v1/payments/webhook', { body, headers })
    expect(first.status).toBe(200)
    expect(first.body).toEqual({ received: true, event_id: event.id, outcome: 'granted', payment_status: 'succeeded' })
    // The very same request again (a replay within the tolerance) and a redelivery under a new event id.
    expect((await t.json('POST', '/api/v1/payments/webhook', { body, headers })).body.outcome).toBe('duplicate')
    expect((await deliver(succeeded(started.payment_id))).body.outcome).toBe('already_succeeded')
    expect(await unlocked(user)).toBe(true)

    const racer = freshUser('racer')
    const raced = await checkout(racer)
    const same = succeeded(raced.payment_id)
    const outcomes = (await Promise.all(Array.from({ length: 5 }, () => deliver(same)))).map((res) => res.body.outcome).sort()
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'granted'])
    for (const who of [user, racer]) expect(await audit(`action=entitlement.granted&target=${encodeURIComponent(`user:${(await t.json('GET', '/api/v1/me', { user: who })).body.id}`)}`)).toHaveLength(1)
  })

  test('reordered: a failure after the success keeps the payment succeeded and the palette unlocked', async () => {
    const user = freshUser('reorder')
    const started = await checkout(user)
    expect((await deliver(succeeded(started.payment_id))).body.outcome).toBe('granted')
    const late = await deliver(failed(started.payment_id))
    expect(late.status).toBe(200)
    expect(late.body).toMatchObject({ outcome: 'ignored', payment_status: 'succeeded' })
    expect((await t.deps.stores.payments.payment(started.payment_id))?.status).toBe('succeeded')
    expect(await unlocked(user)).toBe(true)
  })

  test('a failure before the success: failed, then succeeded and granted', async () => {
    const user = freshUser('retry')
    const started = await checkout(user)
    expect((await deliver(failed(started.payment_id))).body).toMatchObject({ outcome: 'failed', payment_status: 'failed' })
    expect(await unlocked(user)).toBe(false)
    expect((await deliver(succeeded(started.payment_id))).body).toMatchObject({ outcome: 'granted', payment_status: 'succeeded' })
    expect(await unlocked(user)).toBe(true)
    const actions = (await audit(`target=${encodeURIComponent(`payment:${started.payment_id}`)}`)).map((event) => event.action)
    for (const action of ['payment.checkout', 'payment.failed', 'payment.succeeded', 'payment.webhook']) expect(actions).toContain(action)
  })

  test('a wrong amount, an unknown payment or a malformed event is refused and changes nothing; other types are acknowledged', async () => {
    const user = freshUser('odd')
    const started = await checkout(user)
    const mismatch = succeeded(started.payment_id, undefined, 1)
    expectErrorShape(expect, await deliver(mismatch), 422, 'amount_mismatch')
    expect((await t.deps.stores.payments.payment(started.payment_id))?.status).toBe('pending')
    expectErrorShape(expect, await deliver(succeeded('01900000-0000-7000-8000-000000000000')), 404)
    expectErrorShape(expect, await deliver({ id: 'evt_x', type: 'payment.succeeded' }), 422, 'invalid_event')
    const raw = await t.json('POST', '/api/v1/payments/webhook', {
      body: 'not json',
      headers: { 'content-type': 'application/json', 'x-signature': signWebhook(t.config.payments.webhookSecret!, 'not json') },
    })
    expectErrorShape(expect, raw, 422, 'invalid_event')
    const other = await deliver({ id: `evt_${crypto.randomUUID()}`, type: 'charge.dispute.created', data: { payment_id: started.payment_id } })
    expect(other.body).toMatchObject({ outcome: 'ignored', payment_status: null })
    expect(await unlocked(user)).toBe(false)
  })

  test('webhook events are audited as the provider, without the signature', async () => {
    const user = freshUser('trail')
    const started = await checkout(user)
    const event = succeeded(started.payment_id)
    const body = JSON.stringify(event)
    const signature = signWebhook(t.config.payments.webhookSecret!, body)
    await t.json('POST', '/api/v1/payments/webhook', { body, headers: { 'content-type': 'application/json', 'x-signature': signature } })
    const events = await audit(`target=${encodeURIComponent(`payment:${started.payment_id}`)}&actor=payments-provider`)
    expect(events.map((e) => e.action).sort()).toEqual(['payment.succeeded', 'payment.webhook'])
    expect(events.find((e) => e.action === 'payment.webhook')).toMatchObject({ role: 'payments-provider', metadata: { event_id: event.id, outcome: 'granted' } })
    expect(JSON.stringify(events)).not.toContain(signature.split('v1=')[1]!)
  })
})

describe('sessions and palettes', () => {
  test('creating with an unknown palette is 422 unknown_palette, with a locked one 403 palette_locked', async () => {
    const user = freshUser('asker')
    expectErrorShape(expect, await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Why?', palette_id: 'no-such' } }), 422, 'unknown_palette')
    expectErrorShape(expect, await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Why?', palette_id: 'expert-panel' } }), 403, 'palette_locked')
    const started = await checkout(user)
    await t.json('POST', '/api/v1/payments/confirm', { user, body: { payment_id: started.payment_id, proof: started.dev_proof } })
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Why?', palette_id: 'expert-panel' } })
    expect(created.status).toBe(201)
    expect(created.body.palette_id).toBe('expert-panel')
    expect((await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })).status).toBe(202)
  })

  test('a palette priced after the session was created is refused at run: 403 palette_locked, nothing queued', async () => {
    const id = `later-${crypto.randomUUID().slice(0, 8)}`
    const made = await t.json('POST', '/api/admin/palettes', { ...ADMIN, body: { id, name: 'Later', agents: ['analyst', 'skeptic'], chair: 'chair', price_cents: 0 } })
    expect(made.status).toBe(201)
    const user = freshUser('early')
    const session = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Before the price?', palette_id: id } })
    expect(session.status).toBe(201)
    expect((await t.json('PATCH', `/api/admin/palettes/${id}`, { ...ADMIN, body: { price_cents: 500 } })).status).toBe(200)
    expectErrorShape(expect, await t.json('POST', `/api/v1/sessions/${session.body.id}/run`, { user }), 403, 'palette_locked')
    expect((await t.json('GET', `/api/v1/sessions/${session.body.id}`, { user })).body.status).toBe('created')
  })
})
