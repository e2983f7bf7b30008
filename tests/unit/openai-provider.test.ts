/**
 * The OpenAI-compatible provider against a local server speaking the
 * chat-completions wire format: the request it sends, usage, retries on 429
 * and 5xx (honouring Retry-After), immediate failure on other 4xx and on
 * malformed bodies, timeouts, and Retry-After parsing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createOpenAiProvider, retryAfterMs, type OpenAiOptions } from '../../src/llm/openai'
import { LlmError } from '../../src/llm/types'

interface Seen {
  method: string
  path: string
  headers: Headers
  body: any
}

type Reply = (request: Seen) => Response | Promise<Response>

/** Each test scripts the server's replies, in order; the last one repeats. */
let replies: Reply[] = []
let seen: Seen[] = []
let server: ReturnType<typeof Bun.serve>

const completion = (content: string, extra: Record<string, unknown> = {}) =>
  Response.json({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
    ...extra,
  })

const errorReply = (status: number, message: string, headers: Record<string, string> = {}) =>
  Response.json({ error: { message, type: 'error', code: null } }, { status, headers })

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const text = await request.text()
      const entry: Seen = {
        method: request.method,
        path: new URL(request.url).pathname,
        headers: request.headers,
        body: text ? JSON.parse(text) : null,
      }
      seen.push(entry)
      const reply = replies[Math.min(seen.length - 1, replies.length - 1)]!
      return reply(entry)
    },
  })
})

afterAll(() => {
  server.stop(true)
})

beforeEach(() => {
  replies = []
  seen = []
})

const provider = (options: Partial<OpenAiOptions> = {}) =>
  createOpenAiProvider({
    apiKey: 'sk-test-key',
    baseUrl: `http://127.0.0.1:${server.port}/v1`,
    backoffMs: 5,
    timeoutMs: 2_000,
    ...options,
  })

const ask = (options: Partial<OpenAiOptions> = {}, signal?: AbortSignal) =>
  provider(options).complete({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are the Analyst.' },
      { role: 'user', content: 'Question: Why?' },
    ],
    temperature: 0.3,
    maxTokens: 256,
    signal,
  })

const failure = async (promise: Promise<unknown>): Promise<LlmError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(LlmError)
  return error as LlmError
}

describe('openai provider: the request and the answer', () => {
  test('POSTs the chat-completions body to /v1/chat/completions with a bearer key', async () => {
    replies = [() => completion('Because.')]
    const result = await ask()
    expect(seen).toHaveLength(1)
    const [request] = seen
    expect(request!.method).toBe('POST')
    expect(request!.path).toBe('/v1/chat/completions')
    expect(request!.headers.get('authorization')).toBe('Bearer sk-test-key')
    expect(request!.headers.get('content-type')).toContain('application/json')
    expect(request!.body).toMatchObject({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are the Analyst.' },
        { role: 'user', content: 'Question: Why?' },
      ],
      temperature: 0.3,
      max_tokens: 256,
    })
    expect(result.content).toBe('Because.')
  })

  test('a trailing slash on the base URL does not double the path', async () => {
    replies = [() => completion('ok')]
    await ask({ baseUrl: `http://127.0.0.1:${server.port}/v1/` })
    expect(seen[0]!.path).toBe('/v1/chat/completions')
  })

  test('usage becomes tokensIn/tokensOut, and the model is the one the server reports', async () => {
    replies = [() => completion('Because.')]
    const result = await ask()
    expect(result).toMatchObject({ content: 'Because.', tokensIn: 42, tokensOut: 7, model: 'gpt-4o-mini-2024-07-18' })
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
  })

  test('without usage, tokens are estimated (still positive)', async () => {
    replies = [() => completion('A fairly long answer to estimate from.', { usage: undefined })]
    const result = await ask()
    expect(result.tokensIn).toBeGreaterThan(0)
    expect(result.tokensOut).toBeGreaterThan(0)
  })
})

describe('openai provider: retries', () => {
  test('429 with Retry-After: 0, then success → retried once and succeeds', async () => {
    replies = [() => errorReply(429, 'Rate limit reached', { 'retry-after': '0' }), () => completion('second time lucky')]
    const result = await ask()
    expect(result.content).toBe('second time lucky')
    expect(seen).toHaveLength(2)
  })

  test('500 twice, then success → three requests, succeeds', async () => {
    replies = [() => errorReply(500, 'boom'), () => errorReply(502, 'bad gateway'), () => completion('finally')]
    const result = await ask()
    expect(result.content).toBe('finally')
    expect(seen).toHaveLength(3)
  })

  test('400 fails at once: LlmError, retryable false, status 400, one request, the server’s message kept', async () => {
    replies = [() => errorReply(400, "Invalid value for 'temperature'")]
    const error = await failure(ask())
    expect(error.retryable).toBe(false)
    expect(error.status).toBe(400)
    expect(error.message).toContain('400')
    expect(error.message).toContain("Invalid value for 'temperature'")
    expect(seen).toHaveLength(1)
  })

  test('401 fails at once too', async () => {
    replies = [() => errorReply(401, 'Incorrect API key provided')]
    const error = await failure(ask())
    expect(error.retryable).toBe(false)
    expect(seen).toHaveLength(1)
  })

  test('a malformed JSON body → LlmError, not retried', async () => {
    replies = [() => new Response('{"choices": [', { headers: { 'content-type': 'application/json' } })]
    const error = await failure(ask())
    expect(error.message).toContain('not JSON')
    expect(error.retryable).toBe(false)
    expect(seen).toHaveLength(1)
  })

  test('a body without choices → LlmError', async () => {
    replies = [() => Response.json({ id: 'x', object: 'chat.completion', usage: { prompt_tokens: 1, completion_tokens: 1 } })]
    const error = await failure(ask())
    expect(error.message).toContain('choices')
    expect(seen).toHaveLength(1)
  })

  test('retries exhausted → throws the last error after maxRetries + 1 requests', async () => {
    replies = [() => errorReply(503, 'overloaded')]
    const error = await failure(ask({ maxRetries: 2 }))
    expect(error.retryable).toBe(true)
    expect(error.status).toBe(503)
    expect(error.message).toContain('overloaded')
    expect(seen).toHaveLength(3)
  })

  test('a server slower than timeoutMs → a timeout LlmError, retryable', async () => {
    replies = [
      async () => {
        await Bun.sleep(600)
        return completion('too late')
      },
    ]
    const started = performance.now()
    const error = await failure(ask({ timeoutMs: 100, maxRetries: 0 }))
    expect(performance.now() - started).toBeLessThan(500)
    expect(error.message).toContain('no answer within 100 ms')
    expect(error.retryable).toBe(true)
  })

  test('a timeout is retried like a 5xx', async () => {
    replies = [
      async () => {
        await Bun.sleep(400)
        return completion('too late')
      },
      () => completion('quick this time'),
    ]
    const result = await ask({ timeoutMs: 100, maxRetries: 1 })
    expect(result.content).toBe('quick this time')
    expect(seen).toHaveLength(2)
  })

  test('a Retry-After beyond maxRetryAfterMs → gives up at once, without waiting', async () => {
    replies = [() => errorReply(429, 'Slow down', { 'retry-after': '120' }), () => completion('never asked')]
    const started = performance.now()
    const error = await failure(ask({ maxRetryAfterMs: 1_000 }))
    expect(performance.now() - started).toBeLessThan(500)
    expect(error.status).toBe(429)
    expect(seen).toHaveLength(1)
  })

  test('a Retry-After within the limit is waited for', async () => {
    replies = [() => errorReply(429, 'Slow down', { 'retry-after': '1' }), () => completion('after the wait')]
    const started = performance.now()
    const result = await ask({ maxRetryAfterMs: 5_000 })
    expect(result.content).toBe('after the wait')
    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
  })

  test('an unreachable server → retryable LlmError naming the base URL', async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response('') })
    const port = closed.port
    closed.stop(true)
    const error = await failure(ask({ baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 }))
    expect(error.retryable).toBe(true)
    expect(error.message).toContain(`127.0.0.1:${port}`)
  })

  test('aborting the caller’s signal during a backoff stops the retries', async () => {
    replies = [() => errorReply(500, 'boom')]
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const started = performance.now()
    const error = await failure(ask({ backoffMs: 10_000, maxRetries: 3 }, controller.signal))
    expect(error.message).toContain('cancelled')
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(seen).toHaveLength(1)
  })
})

describe('retryAfterMs', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')

  test('reads seconds', () => {
    expect(retryAfterMs('0', now)).toBe(0)
    expect(retryAfterMs('3', now)).toBe(3_000)
    expect(retryAfterMs('120', now)).toBe(120_000)
  })

  test('reads an HTTP date relative to now, never negative', () => {
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:30 GMT', now)).toBe(30_000)
    expect(retryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0)
  })

  test('absent or unreadable → null', () => {
    expect(retryAfterMs(null, now)).toBeNull()
    expect(retryAfterMs('soon', now)).toBeNull()
  })
})
