/**
 * Error tracking against a local HTTP sink standing in for Sentry: with
 * SENTRY_DSN pointing at it, an unexpected error in a request and one in a job
 * each arrive as a Sentry envelope, decoded here, carrying request_id, job_id,
 * route and a hashed user — and never the request body, the prompt, headers,
 * cookies, the email, or a secret that was in the error's message. Without
 * SENTRY_DSN nothing is sent.
 */
import { afterAll, expect, test } from 'bun:test'
import { gunzipSync } from 'node:zlib'
import { hashUser } from '../../plugins/logging/logger'
import { buildTestApp, type TestApp } from '../helpers/app'

interface Envelope {
  header: Record<string, unknown>
  items: Array<{ header: Record<string, unknown>; payload: any }>
  raw: string
}

const envelopes: Envelope[] = []
const sink = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(request) {
    const bytes = new Uint8Array(await request.arrayBuffer())
    const raw = new TextDecoder().decode(request.headers.get('content-encoding') === 'gzip' ? gunzipSync(bytes) : bytes)
    const lines = raw.split('\n').filter(Boolean)
    const items: Envelope['items'] = []
    for (let i = 1; i + 1 < lines.length; i += 2) items.push({ header: JSON.parse(lines[i]!), payload: JSON.parse(lines[i + 1]!) })
    envelopes.push({ header: JSON.parse(lines[0]!), items, raw })
    return Response.json({ id: 'ok' })
  },
})
const apps: TestApp[] = []
afterAll(async () => {
  for (const app of apps) await app.close()
  await sink.stop(true)
})

const PROMPT = 'PROMPT-TEXT-should-never-leave-4711'
const SECRET = 'sk-live-abcdef1234567890'

async function waitForEvents(count: number) {
  const deadline = Date.now() + 10_000
  while (envelopes.flatMap((e) => e.items.filter((item) => item.header.type === 'event')).length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} event(s) at the sink, got ${envelopes.length} envelope(s)`)
    await Bun.sleep(50)
  }
  return envelopes.flatMap((e) => e.items.filter((item) => item.header.type === 'event').map((item) => ({ event: item.payload, raw: e.raw })))
}

test('off by default: an unexpected error is answered 500 and nothing is sent', async () => {
  const t = await buildTestApp()
  apps.push(t)
  expect(t.deps.errors.enabled).toBe(false)
  t.deps.sessions.list = async () => {
    throw new Error('boom')
  }
  expect((await t.json('GET', '/api/v1/sessions', { user: 'quiet@example.com' })).status).toBe(500)
  await Bun.sleep(300)
  expect(envelopes).toHaveLength(0)
})

test('with SENTRY_DSN: a request error and a job error arrive scrubbed, with request_id, job_id, route and a hashed user', async () => {
  const t = await buildTestApp({ SENTRY_DSN: `http://publickey@127.0.0.1:${sink.port}/42`, SENTRY_ENVIRONMENT: 'test-sink' })
  apps.push(t)
  expect(t.deps.errors.enabled).toBe(true)
  const email = 'tracked-person@example.com'
  const me = (await t.json('GET', '/api/v1/me', { user: email })).body

  const realCreate = t.deps.sessions.create
  t.deps.sessions.create = async () => {
    throw new Error(`database refused the write: password=hunter2 token=${SECRET} for ${email}`)
  }
  const failed = await t.json('POST', '/api/v1/sessions', { user: email, body: { question: PROMPT }, headers: { cookie: 'theme=dark', 'x-api-key': SECRET } })
  expect(failed.status).toBe(500)
  const requestId = failed.headers.get('x-request-id')!

  const [{ event, raw }] = await waitForEvents(1)
  expect(event.environment).toBe('test-sink')
  expect(event.tags).toMatchObject({ request_id: requestId, route: '/api/v1/sessions', user: hashUser(me.id), process: 'server' })
  expect(event.user).toEqual({ id: hashUser(me.id) })
  expect(event.exception.values[0].value).toContain('database refused the write')
  expect(event.request).toBeUndefined()
  for (const leak of [PROMPT, SECRET, 'hunter2', email, 'theme=dark', 'x-api-key', 'x-user-id']) expect(raw).not.toContain(leak)

  // A job attempt that fails for a reason the council does not know.
  const realCouncil = t.deps.council.run
  t.deps.council.run = async () => {
    throw new TypeError('cannot read properties of undefined (reading "stage")')
  }
  t.deps.sessions.create = realCreate
  const session = await t.json('POST', '/api/v1/sessions', { user: email, body: { question: 'Should we?' } })
  expect(session.status).toBe(201)
  const run = await t.json('POST', `/api/v1/sessions/${session.body.id}/run`, { user: email })
  expect(run.status).toBe(202)
  const events = await waitForEvents(2)
  const job = events.find(({ event: e }) => e.tags?.job_id === run.body.job_id)
  expect(job).toBeDefined()
  expect(job!.event.tags).toMatchObject({ job_id: run.body.job_id, request_id: run.headers.get('x-request-id'), route: 'job:council', user: hashUser(me.id) })
  expect(job!.event.exception.values[0].type).toBe('TypeError')
  expect(job!.raw).not.toContain(email)
  t.deps.council.run = realCouncil
})
