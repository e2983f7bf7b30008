/**
 * Text is streamed only while someone can see it (issue 15): each LLM call asks,
 * as it starts, whether anyone follows its job (streamWanted, answered from the
 * event log's subscribers). A provider whose stream costs more than the plain
 * request (the OpenAI-compatible one) sends the plain request when nobody does;
 * deltas are written only for followed jobs. Here a probe provider records the
 * answers: a council nobody follows streams nothing; a followed one streams, and
 * its follower gets the deltas.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createOfflineProvider } from '../../src/llm/offline'
import type { LlmProvider } from '../../src/llm/types'
import { buildTestApp, type TestApp } from '../helpers/app'
import { readSse } from '../helpers/sse'
import { idle, startCouncil } from './council-support'
import { freshUser } from './support'

describe('streaming only while followed (inline runner, memory log)', () => {
  let t: TestApp
  const offline = createOfflineProvider({ latencyMs: 20 })
  let wanted: boolean[] = []
  let open: Promise<void> = Promise.resolve()
  const probe: LlmProvider = {
    name: 'probe',
    async complete(request) {
      await open
      const stream = (await request.streamWanted?.()) ?? true
      wanted.push(stream)
      if (stream) request.onDelta?.('Thinking… ')
      return offline.complete({ ...request, onDelta: undefined })
    },
  }
  beforeAll(async () => {
    t = await buildTestApp({ EVENTS_DELTA_MS: '20' }, { llm: probe })
  })
  afterAll(() => t.close())

  test('a council nobody follows asks at every call and streams none of them', async () => {
    wanted = []
    await startCouncil(t, freshUser('unseen'))
    await idle(t)
    expect(wanted).toHaveLength(7)
    expect(wanted.every((stream) => stream === false)).toBe(true)
  })

  test('a followed council streams every call, and its follower gets the text', async () => {
    wanted = []
    let letGo: () => void = () => undefined
    open = new Promise<void>((resolve) => (letGo = resolve))
    const user = freshUser('seen')
    const { jobId } = await startCouncil(t, user)
    const controller = new AbortController()
    const res = await t.app.handle(
      new Request(`http://localhost/api/v1/jobs/${jobId}/events`, { headers: { 'x-user-id': user, accept: 'text/event-stream' }, signal: controller.signal }),
    )
    const stream = readSse(res, controller)
    await stream.waitFor((events) => events.length > 0) // subscribed: the job's first events came through
    letGo()
    const events = await stream.done()
    open = Promise.resolve()
    expect(wanted).toHaveLength(7)
    expect(wanted.every((stream) => stream === true)).toBe(true)
    const deltas = events.filter((event) => event.event === 'delta')
    expect(new Set(deltas.map((event) => `${event.data.stage}:${event.data.agent}`)).size).toBe(7)
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'succeeded' } })
  })
})
