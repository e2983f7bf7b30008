/**
 * Streaming on both providers: the offline provider sends its deterministic
 * text in pieces spread over LLM_OFFLINE_LATENCY_MS; the OpenAI-compatible one
 * asks a local server speaking the chat-completions wire format for
 * `stream: true` with usage, reads its server-sent chunks, and keeps the plain
 * request for callers that want no deltas.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { draftPrompt } from '../../src/council/prompts'
import { chunks, createOfflineProvider } from '../../src/llm/offline'
import { createOpenAiProvider } from '../../src/llm/openai'
import { LlmError, type ChatMessage } from '../../src/llm/types'

const MESSAGES: ChatMessage[] = draftPrompt({ name: 'analyst', persona: 'You are the Analyst.' }, 'Should we ship on Fridays?')

describe('offline provider: streaming', () => {
  test('the pieces add up to the same answer as the plain call, and arrive one by one', async () => {
    const plain = await createOfflineProvider({ latencyMs: 0 }).complete({ model: 'offline-small', messages: MESSAGES })
    const pieces: string[] = []
    const streamed = await createOfflineProvider({ latencyMs: 0 }).complete({
      model: 'offline-small',
      messages: MESSAGES,
      onDelta: (text) => pieces.push(text),
    })
    expect(streamed).toMatchObject({ content: plain.content, tokensIn: plain.tokensIn, tokensOut: plain.tokensOut })
    expect(pieces.length).toBeGreaterThan(3)
    expect(pieces.join('')).toBe(plain.content)
  })

  test('the latency (±20 %) is spread over the pieces: the first arrives well before the end', async () => {
    const stamps: number[] = []
    const started = performance.now()
    await createOfflineProvider({ latencyMs: 400 }).complete({
      model: 'offline-small',
      messages: MESSAGES,
      onDelta: () => stamps.push(performance.now() - started),
    })
    const total = performance.now() - started
    expect(total).toBeGreaterThanOrEqual(0.8 * 400 - 5)
    expect(stamps[0]!).toBeLessThan(total / 2)
    // In order, and spread out rather than bunched at the end.
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b))
    expect(stamps.at(-1)! - stamps[0]!).toBeGreaterThan(200)
  })

  test('an abort mid-stream stops it with LlmError and no more pieces', async () => {
    const controller = new AbortController()
    const pieces: string[] = []
    const call = createOfflineProvider({ latencyMs: 500 }).complete({
      model: 'offline-small',
      messages: MESSAGES,
      signal: controller.signal,
      onDelta: (text) => pieces.push(text),
    })
    setTimeout(() => controller.abort(), 120)
    expect(await call.catch((error: unknown) => error)).toBeInstanceOf(LlmError)
    const seen = pieces.length
    await Bun.sleep(150)
    expect(pieces.length).toBe(seen)
    expect(seen).toBeLessThan(chunks((await createOfflineProvider({ latencyMs: 0 }).complete({ model: 'm', messages: MESSAGES })).content).length)
  })

  test('a failing agent streams nothing and fails as before', async () => {
    const pieces: string[] = []
    const llm = createOfflineProvider({ latencyMs: 0, failures: { analyst: 'provider down' } })
    const error = await llm
      .complete({ model: 'm', messages: [{ role: 'system', content: 'You are the Analyst.\nAgent: analyst' }, ...MESSAGES.slice(1)], onDelta: (t) => pieces.push(t) })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LlmError)
    expect(pieces).toEqual([])
  })

  test('chunks cut after spaces, so words arrive whole, and lose nothing', () => {
    const text = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen'
    const pieces = chunks(text, 20)
    expect(pieces.join('')).toBe(text)
    for (const piece of pieces.slice(0, -1)) expect(piece.endsWith(' ')).toBe(true)
    expect(chunks('x'.repeat(130), 60)).toEqual(['x'.repeat(60), 'x'.repeat(60), 'x'.repeat(10)])
  })
})

describe('openai provider: streaming against a local chat-completions server', () => {
  let server: ReturnType<typeof Bun.serve>
  let bodies: Array<Record<string, unknown>> = []
  let reply: () => Response = () => new Response('unset', { status: 500 })

  const sse = (events: string[], { pauseMs = 0 } = {}) =>
    new Response(
      new ReadableStream({
        async start(controller) {
          for (const event of events) {
            controller.enqueue(new TextEncoder().encode(event))
            if (pauseMs) await Bun.sleep(pauseMs)
          }
          controller.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, delta: { content } }] })}\n\n`
  const usage = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 31, completion_tokens: 5, total_tokens: 36 } })}\n\n`

  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(request) {
        bodies.push((await request.json()) as Record<string, unknown>)
        return reply()
      },
    })
  })
  afterAll(() => server.stop(true))
  beforeEach(() => {
    bodies = []
  })

  const provider = () => createOpenAiProvider({ apiKey: 'sk-test', baseUrl: `http://127.0.0.1:${server.port}/v1`, backoffMs: 5, timeoutMs: 2000 })
  const messages: ChatMessage[] = [{ role: 'user', content: 'Question: Why?' }]

  test('asks for stream: true with usage, hands each piece to onDelta, and reports the usage of the last chunk', async () => {
    // Pieces split across network reads, a comment line and CRLF line ends, as real servers send them.
    reply = () => sse([': keep-alive\n\n', chunk('Be'), chunk('cause'), `${chunk(' it is.').slice(0, 20)}`, `${chunk(' it is.').slice(20).replaceAll('\n', '\r\n')}`, usage, 'data: [DONE]\n\n'], { pauseMs: 5 })
    const pieces: string[] = []
    const result = await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: (text) => pieces.push(text) })
    expect(bodies[0]).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } })
    expect(pieces).toEqual(['Be', 'cause', ' it is.'])
    expect(result).toMatchObject({ content: 'Because it is.', tokensIn: 31, tokensOut: 5, model: 'gpt-4o-mini-2024-07-18' })
  })

  test('without onDelta the plain request is sent (no stream flag)', async () => {
    reply = () =>
      Response.json({ model: 'gpt-4o-mini', choices: [{ message: { content: 'Plain.' } }], usage: { prompt_tokens: 3, completion_tokens: 1 } })
    const result = await provider().complete({ model: 'gpt-4o-mini', messages })
    expect(bodies[0]!.stream).toBeUndefined()
    expect(result.content).toBe('Plain.')
  })

  test('with onDelta but nobody looking (streamWanted answers false) the plain request is sent; when it answers true, the stream', async () => {
    reply = () =>
      Response.json({ model: 'gpt-4o-mini', choices: [{ message: { content: 'Plain.' } }], usage: { prompt_tokens: 3, completion_tokens: 1 } })
    const pieces: string[] = []
    const plain = await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: (text) => pieces.push(text), streamWanted: async () => false })
    expect(bodies[0]!.stream).toBeUndefined()
    expect(plain.content).toBe('Plain.')
    expect(pieces).toEqual([])
    reply = () => sse([chunk('Seen.'), usage, 'data: [DONE]\n\n'])
    const seen = await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: (text) => pieces.push(text), streamWanted: async () => true })
    expect(bodies[1]).toMatchObject({ stream: true })
    expect([seen.content, pieces]).toEqual(['Seen.', ['Seen.']])
  })

  test('a stream without usage estimates the tokens', async () => {
    reply = () => sse([chunk('Some words here.'), 'data: [DONE]\n\n'])
    const result = await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: () => undefined })
    expect(result.content).toBe('Some words here.')
    expect(result.tokensIn).toBeGreaterThan(0)
    expect(result.tokensOut).toBeGreaterThan(0)
  })

  test('an error chunk mid-stream fails the call without a retry (its text was already shown)', async () => {
    reply = () => sse([chunk('Half an '), `data: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`])
    const pieces: string[] = []
    const error = (await provider()
      .complete({ model: 'gpt-4o-mini', messages, onDelta: (text) => pieces.push(text) })
      .catch((e: unknown) => e)) as LlmError
    expect(error).toBeInstanceOf(LlmError)
    expect(error.message).toContain('overloaded')
    expect(pieces).toEqual(['Half an '])
    expect(bodies).toHaveLength(1)
  })

  test('a 503 before any text is retried like the plain request', async () => {
    let calls = 0
    reply = () => (++calls === 1 ? Response.json({ error: { message: 'busy' } }, { status: 503 }) : sse([chunk('Fine.'), usage, 'data: [DONE]\n\n']))
    const result = await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: () => undefined })
    expect(result.content).toBe('Fine.')
    expect(bodies).toHaveLength(2)
  })

  test('a stream with no content at all is an error, not an empty answer', async () => {
    reply = () => sse([usage, 'data: [DONE]\n\n'])
    expect(await provider().complete({ model: 'gpt-4o-mini', messages, onDelta: () => undefined }).catch((e: unknown) => e)).toBeInstanceOf(LlmError)
  })
})
