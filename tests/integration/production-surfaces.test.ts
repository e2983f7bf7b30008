/**
 * Payments and tokens as production runs them, on the database of the pass:
 * AUTH_MODE=prod with bearer JWTs. Checkout never hands out a dev proof; with
 * no payment secrets configured, payments are refused (503) rather than run on
 * a default; a personal access token works beside JWTs in prod auth. And two
 * app instances on one database: a token revoked on one is refused by the other
 * on its next request.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { SignJWT } from 'jose'
import { signWebhook } from '../../plugins/auth/signature'
import { createLogger } from '../../plugins/logging/logger'
import { createApp, createDeps } from '../../src/app'
import { buildTestApp, type TestApp } from '../helpers/app'
import { expectErrorShape, freshUser } from './support'

const JWT_SECRET = 'j'.repeat(40)
const PRODUCTION = { APP_ENV: 'production', AUTH_MODE: 'prod', JWT_SECRET, SESSION_SECRET: 's'.repeat(40) }
const WEBHOOK_SECRET = 'h'.repeat(40)
const PROOF_SECRET = 'p'.repeat(40)

const jwtFor = (email: string) =>
  new SignJWT({ email, email_verified: true, roles: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`sub-${email}`)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET))
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe('production with payment secrets', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ ...PRODUCTION, PAYMENTS_WEBHOOK_SECRET: WEBHOOK_SECRET, PAYMENTS_PROOF_SECRET: PROOF_SECRET })
  })
  afterAll(async () => {
    await t?.close()
  })

  test('checkout has no dev_proof; the webhook unlocks', async () => {
    const jwt = await jwtFor(freshUser('prod-buyer'))
    const started = await t.json('POST', '/api/v1/payments/checkout', { headers: bearer(jwt), body: { palette_id: 'expert-panel' } })
    expect(started.status).toBe(201)
    expect(Object.keys(started.body).sort()).toEqual(['amount_cents', 'palette_id', 'payment_id', 'status'])
    expect('dev_proof' in started.body).toBe(false)
    const body = JSON.stringify({ id: `evt_${crypto.randomUUID()}`, type: 'payment.succeeded', data: { payment_id: started.body.payment_id } })
    const delivered = await t.json('POST', '/api/v1/payments/webhook', { body, headers: { 'content-type': 'application/json', 'x-signature': signWebhook(WEBHOOK_SECRET, body) } })
    expect(delivered.body.outcome).toBe('granted')
    const palettes = (await t.json('GET', '/api/v1/palettes', { headers: bearer(jwt) })).body.items
    expect(palettes.find((palette: { id: string }) => palette.id === 'expert-panel').unlocked).toBe(true)
    // The development server's key is not this one.
    const devKey = (await import('../../src/config')).loadConfig({ APP_ENV: 'development' }).payments.proofSecret!
    const guess = createHmac('sha256', devKey).update(`payment:${started.body.payment_id}`).digest('hex')
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/confirm', { headers: bearer(jwt), body: { payment_id: started.body.payment_id, proof: guess } }), 403, 'invalid_proof')
  })

  test('a personal access token works beside JWTs in prod auth, and X-User-Id is still not trusted', async () => {
    const email = freshUser('prod-integrator')
    const jwt = await jwtFor(email)
    const created = await t.json('POST', '/api/v1/tokens', { headers: bearer(jwt), body: { name: 'prod script' } })
    expect(created.status).toBe(201)
    const me = await t.json('GET', '/api/v1/me', { headers: bearer(created.body.token) })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ email, external_id: `jwt:sub-${email}` })
    expectErrorShape(expect, await t.json('GET', '/api/v1/me', { user: email }), 401)
  })
})

describe('production without payment secrets', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(PRODUCTION)
  })
  afterAll(async () => {
    await t?.close()
  })

  test('checkout, confirm and the webhook answer 503 payments_not_configured; nothing runs on a default key', async () => {
    const jwt = await jwtFor(freshUser('prod-none'))
    expectErrorShape(expect, await t.json('POST', '/api/v1/payments/checkout', { headers: bearer(jwt), body: { palette_id: 'expert-panel' } }), 503, 'payments_not_configured')
    const devKey = (await import('../../src/config')).loadConfig({ APP_ENV: 'development' }).payments.webhookSecret!
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', data: { payment_id: 'p' } })
    const hooked = await t.json('POST', '/api/v1/payments/webhook', { body, headers: { 'content-type': 'application/json', 'x-signature': signWebhook(devKey, body) } })
    expectErrorShape(expect, hooked, 503, 'payments_not_configured')
  })
})

describe('two app instances on one database', () => {
  let a: TestApp
  let b: { handle: (request: Request) => Promise<Response>; close: () => Promise<void> }
  beforeAll(async () => {
    a = await buildTestApp()
    const deps = createDeps(a.config, { logger: createLogger({ level: 'error' }) })
    const app = createApp(a.config, deps)
    b = { handle: (request) => app.handle(request), close: () => deps.close() }
  })
  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  test('a token revoked on one instance is refused by the other on its next request', async () => {
    const user = freshUser('two-instances')
    const created = await a.json('POST', '/api/v1/tokens', { user, body: { name: 'shared' } })
    const onB = () => b.handle(new Request('http://localhost/api/v1/me', { headers: bearer(created.body.token) }))
    expect((await onB()).status).toBe(200)
    expect((await onB()).status).toBe(200)
    expect((await a.call('DELETE', `/api/v1/tokens/${created.body.id}`, { user })).status).toBe(204)
    expect((await onB()).status).toBe(401)
  })
})
