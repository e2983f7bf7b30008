/**
 * LLM_MAX_IN_FLIGHT: the limit on provider calls in flight (first come, first
 * served, a cancelled wait leaves the line), the OpenAI-compatible provider
 * holding calls back at it against a local server that counts concurrent
 * requests, its default (JOBS_CONCURRENCY × COUNCIL_CONCURRENCY), and the
 * start-up step that lifts Bun's own fetch cap above it. That more than 256
 * calls really are in flight at once through the real server is
 * tests/e2e/provider-in-flight.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { loadConfig } from '../../src/config'
import { createInFlightLimit, fetchCapFor, fetchCapWarning } from '../../src/llm/in-flight'
import { createOpenAiProvider } from '../../src/llm/openai'

describe('createInFlightLimit', () => {
  test('at most `max` hold a slot; a released slot goes to the longest waiter', async () => {
    const limit = createInFlightLimit(2)
    const first = await limit.acquire()
    await limit.acquire()
    const order: string[] = []
    const third = limit.acquire().then((release) => (order.push('third'), release))
    const fourth = limit.acquire().then((release) => (order.push('fourth'), release))
    await Bun.sleep(5)
    expect(order).toEqual([])
    expect(limit.waiting).toBe(2)
    first()
    first() // releasing twice gives back one slot only
    await third
    await Bun.sleep(5)
    expect(order).toEqual(['third'])
    expect(limit.inFlight).toBe(2)
    expect(limit.waiting).toBe(1)
    ;(await third)()
    await fourth
    expect(order).toEqual(['third', 'fourth'])
  })

  test('a cancelled wait rejects and leaves the line without taking a slot', async () => {
    const limit = createInFlightLimit(1)
    const held = await limit.acquire()
    const controller = new AbortController()
    const waiting = limit.acquire(controller.signal)
    const next = limit.acquire()
    controller.abort()
    await expect(waiting).rejects.toThrow('cancelled')
    expect(limit.waiting).toBe(1)
    held()
    const release = await next
    expect(limit.inFlight).toBe(1)
    release()
    expect(limit.inFlight).toBe(0)
  })
})

describe('the OpenAI-compatible provider with maxInFlight', () => {
  let inFlight = 0
  let peak = 0
  let server: ReturnType<typeof Bun.serve>
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      async fetch(request) {
        await request.text()
        peak = Math.max(peak, ++inFlight)
        await Bun.sleep(30)
        inFlight--
        return Response.json({ model: 'm', choices: [{ message: { content: 'ok' } }], usage: { prompt_tokens: 1, completion_tokens: 1 } })
      },
    })
  })
  afterAll(() => server.stop(true))

  const calls = (maxInFlight: number | undefined, count: number) => {
    const provider = createOpenAiProvider({ apiKey: 'k', baseUrl: `http://127.0.0.1:${server.port}/v1`, ...(maxInFlight ? { maxInFlight } : {}) })
    return Promise.all(Array.from({ length: count }, () => provider.complete({ model: 'm', messages: [{ role: 'user', content: 'q' }] })))
  }

  test('holds calls back at the limit, and every call still completes', async () => {
    peak = 0
    const results = await calls(5, 40)
    expect(results).toHaveLength(40)
    expect(peak).toBe(5)
  })

  test('without a limit every call is sent at once', async () => {
    peak = 0
    await calls(undefined, 40)
    expect(peak).toBe(40)
  })
})

describe('LLM_MAX_IN_FLIGHT', () => {
  test('defaults to JOBS_CONCURRENCY × COUNCIL_CONCURRENCY, so the job concurrency is never held back', () => {
    expect(loadConfig({ APP_ENV: 'test' }).llm.maxInFlight).toBe(100 * 8)
    expect(loadConfig({ APP_ENV: 'test', JOBS_CONCURRENCY: '1000', COUNCIL_CONCURRENCY: '4' }).llm.maxInFlight).toBe(4000)
    expect(loadConfig({ APP_ENV: 'test', JOBS_CONCURRENCY: '10000', COUNCIL_CONCURRENCY: '100' }).llm.maxInFlight).toBe(65_535)
  })

  test('an operator sets it lower; a value that is not 1–65535 is refused naming the variable', () => {
    expect(loadConfig({ APP_ENV: 'test', LLM_MAX_IN_FLIGHT: '50' }).llm.maxInFlight).toBe(50)
    expect(() => loadConfig({ APP_ENV: 'test', LLM_MAX_IN_FLIGHT: '0' })).toThrow('LLM_MAX_IN_FLIGHT')
    expect(() => loadConfig({ APP_ENV: 'test', LLM_MAX_IN_FLIGHT: 'lots' })).toThrow('LLM_MAX_IN_FLIGHT')
  })

  test("Bun's fetch cap is lifted above it (room for 256 other requests), and an operator's lower value is warned about", () => {
    expect(fetchCapFor(1000)).toBe(1256)
    expect(fetchCapFor(65_535)).toBe(65_535)
    expect(fetchCapWarning(1000, { BUN_CONFIG_MAX_HTTP_REQUESTS: '1256' })).toBeNull()
    expect(fetchCapWarning(1000, { BUN_CONFIG_MAX_HTTP_REQUESTS: '300' })).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=300 is below LLM_MAX_IN_FLIGHT=1000')
    expect(fetchCapWarning(1000, {})).toContain('256 (unset)')
    expect(fetchCapWarning(200, {})).toBeNull()
  })
})
