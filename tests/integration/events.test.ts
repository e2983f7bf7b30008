/**
 * GET /api/v1/jobs/:id/events on the in-process runner (memory event log):
 * the events of a council in order with ids, deltas of streamed calls, the end
 * at `done`; resuming with Last-Event-ID after a dropped connection gets exactly
 * the missing events; heartbeats while idle; owner only (404); a job that
 * finished without a `done` in the log still ends its stream; and following a
 * job is not an audited read.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readSse, type SseEvent } from '../helpers/sse'
import { buildTestApp, type TestApp } from '../helpers/app'
import { idle, MEMBERS, startCouncil } from './council-support'
import { expectErrorShape, freshUser } from './support'

const open = (t: TestApp, user: string, jobId: string, headers: Record<string, string> = {}) => {
  const controller = new AbortController()
  const request = new Request(`http://localhost/api/v1/jobs/${jobId}/events`, {
    headers: { 'x-user-id': user, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  })
  return t.app.handle(request).then((res) => ({ res, stream: readSse(res, controller) }))
}

const ids = (events: SseEvent[]) => events.map((event) => event.id!)

describe('job event stream (inline runner, memory log)', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ LLM_OFFLINE_LATENCY_MS: '120', EVENTS_HEARTBEAT_MS: '100', EVENTS_DELTA_MS: '20' })
  })
  afterAll(() => t.close())

  test('a council’s events: stages, each member started and succeeded with tokens and cost, deltas, progress, then done; ids increase', async () => {
    const user = freshUser('events')
    const { jobId } = await startCouncil(t, user)
    const { res, stream } = await open(t, user, jobId)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    expect(res.headers.get('cache-control')).toContain('no-cache')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    const events = await stream.done()
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded', partial: false } })
    expect(events.filter((event) => event.event === 'done')).toHaveLength(1)
    // Ids: present, distinct, increasing.
    const numbers = ids(events).map(Number)
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b))
    expect(new Set(numbers).size).toBe(numbers.length)

    expect(events.filter((e) => e.event === 'stage').map((e) => e.data.stage)).toEqual(['draft', 'review', 'synthesis'])
    for (const agent of MEMBERS)
      for (const stage of ['draft', 'review']) {
        const of = events.filter((e) => e.event === 'member' && e.data.agent === agent && e.data.stage === stage)
        expect(of.map((e) => e.data.state)).toEqual(['started', 'succeeded'])
        expect(of[1]!.data).toMatchObject({ model: expect.any(String), duration_ms: expect.any(Number) })
        expect(of[1]!.data.tokens_in).toBeGreaterThan(0)
        expect(of[1]!.data.tokens_out).toBeGreaterThan(0)
        expect(of[1]!.data.cost_usd).toBeGreaterThan(0)
      }
    // The drafts' text arrived in pieces before each draft was done, and adds up to the stored draft.
    const results = (await t.json('GET', `/api/v1/sessions/${(await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body.session_id}/results`, { user })).body
    for (const draft of results.drafts) {
      const pieces = events.filter((e) => e.event === 'delta' && e.data.agent === draft.agent && e.data.stage === 'draft')
      expect(pieces.length).toBeGreaterThan(1)
      expect(pieces.map((e) => e.data.text).join('')).toBe(draft.content)
      const landed = events.findIndex((e) => e.event === 'member' && e.data.agent === draft.agent && e.data.stage === 'draft' && e.data.state === 'succeeded')
      expect(events.indexOf(pieces.at(-1)!)).toBeLessThan(landed)
    }
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.progress as number)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
    // Every event carries the time it was published.
    for (const event of events) expect(Number.isNaN(Date.parse(event.data.at))).toBe(false)
    expect(stream.ended).toBe(true)
  })

  test('a connection dropped mid-run and resumed with Last-Event-ID gets exactly the missing events', async () => {
    const user = freshUser('resume')
    const { jobId } = await startCouncil(t, user)
    const first = await open(t, user, jobId)
    const seen = await first.stream.waitFor((events) => events.some((e) => e.event === 'member' && e.data.state === 'succeeded'))
    await first.stream.drop()
    const before = [...first.stream.events]
    expect(before.at(-1)!.event).not.toBe('done')
    expect(seen.length).toBeGreaterThan(0)
    await Bun.sleep(150) // events keep coming while the client is away
    const second = await open(t, user, jobId, { 'last-event-id': before.at(-1)!.id! })
    const after = await second.stream.done()
    expect(after[0]!.event).not.toBe('message')

    // The whole run, read afresh once it is over, is exactly the two parts joined.
    await idle(t)
    const whole = await (await open(t, user, jobId)).stream.done()
    expect([...ids(before), ...ids(after)]).toEqual(ids(whole))
    expect(after.at(-1)!.event).toBe('done')
  })

  test('a finished job’s stream replays its events and ends; resuming after an id replays only what came after it', async () => {
    const user = freshUser('replay')
    const { jobId } = await startCouncil(t, user)
    await idle(t)
    const all = await (await open(t, user, jobId)).stream.done()
    const k = Math.floor(all.length / 2)
    const rest = await (await open(t, user, jobId, { 'last-event-id': all[k]!.id! })).stream.done()
    expect(ids(rest)).toEqual(ids(all.slice(k + 1)))
  })

  test('idle streams send heartbeat comments; a job queued behind others has no events yet', async () => {
    const busy = await buildTestApp({ LLM_OFFLINE_LATENCY_MS: '400', JOBS_CONCURRENCY: '1', EVENTS_HEARTBEAT_MS: '60' })
    try {
      const user = freshUser('heartbeat')
      await startCouncil(busy, user)
      const waiting = await startCouncil(busy, user, 'A second question that waits for the first')
      const { stream } = await open(busy, user, waiting.jobId)
      await Bun.sleep(400)
      expect(stream.comments).toBeGreaterThanOrEqual(3)
      await stream.drop()
    } finally {
      await busy.close()
    }
  })

  test('another user’s job, an unknown job and a bad Last-Event-ID are refused in the error shape', async () => {
    const user = freshUser('owner')
    const { jobId } = await startCouncil(t, user)
    expectErrorShape(expect, await t.json('GET', `/api/v1/jobs/${jobId}/events`, { user: freshUser('stranger') }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/jobs/${crypto.randomUUID()}/events`, { user }), 404, 'not_found')
    expectErrorShape(expect, await t.json('GET', `/api/v1/jobs/${jobId}/events`, { user, headers: { 'last-event-id': 'not-an-id' } }), 400, 'invalid_last_event_id')
    expect((await t.json('GET', `/api/v1/jobs/${jobId}/events`)).status).toBe(401)
    await idle(t)
  })

  test('a job that finished without a done in the log (its runner died) still ends the stream, with the stored status', async () => {
    const busy = await buildTestApp({ LLM_OFFLINE_LATENCY_MS: '300', JOBS_CONCURRENCY: '1', EVENTS_HEARTBEAT_MS: '50' })
    try {
      const user = freshUser('orphan')
      await startCouncil(busy, user)
      const orphan = await startCouncil(busy, user, 'Queued, then marked failed behind the runner’s back')
      // As a runner that died would leave it: finished in the table a while ago, nothing in the log.
      await busy.deps.stores.jobs.update(orphan.jobId, { status: 'failed', error: 'worker lost', finishedAt: new Date(Date.now() - 10_000) })
      const events = await (await open(busy, user, orphan.jobId)).stream.done()
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'failed', error: 'worker lost' } })
    } finally {
      await busy.close()
    }
  })

  test('following a job and refreshing the session page’s progress are not audited reads; the page view is one', async () => {
    const user = freshUser('audit')
    const { sessionId, jobId } = await startCouncil(t, user)
    const reads = async () => {
      await t.deps.audit.flush()
      const trail = await t.json('GET', '/api/admin/audit?action=session.read&limit=200', { user: freshUser('auditor'), role: 'auditor' })
      return (trail.body.items as Array<{ session_id: string }>).filter((event) => event.session_id === sessionId).length
    }
    const page = await t.call('GET', `/sessions/${sessionId}`, { user })
    expect(page.status).toBe(200)
    await (await open(t, user, jobId)).stream.done()
    for (let i = 0; i < 3; i++) expect((await t.call('GET', `/sessions/${sessionId}/progress`, { user, headers: { 'hx-request': 'true' } })).status).toBe(200)
    expect(await reads()).toBe(1)
  })
})
