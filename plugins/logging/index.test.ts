/**
 * Request ids and the request log line, on a bare Elysia app: every response
 * carries X-Request-Id (a valid incoming one echoed, anything else replaced by
 * a fresh id), handlers see it as `requestId`, and each request ends with one
 * JSON line — request id, user, method, route template, status, duration —
 * at error level for a 5xx. The logger itself: logger.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { logging, requestIdOf, requestState } from '.'
import { createLogger } from './logger'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function build() {
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line)) })
  const app = new Elysia()
    .use(logging({ logger }))
    .get('/requestId', ({ requestId }) => requestId)
    .get('/items/:id', ({ request, params }) => {
      // What the rbac guard does once it knows the caller.
      requestState(request)!.user = 'ann@example.com'
      return { id: params.id, sameId: requestIdOf(request) }
    })
    .get('/broken', ({ set }) => {
      set.status = 503
      return 'down'
    })
  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await app.handle(new Request(`http://localhost${path}`, { headers }))
    const text = await res.text()
    // The line is written after the response is handed back.
    await Bun.sleep(5)
    return { res, text }
  }
  return { call, lines }
}

describe('X-Request-Id', () => {
  test('is generated (a UUID) when none comes in, and the handler sees the same id', async () => {
    const { res, text } = await build().call('/requestId')
    expect(res.headers.get('x-request-id')).toMatch(UUID)
    expect(text).toBe(res.headers.get('x-request-id')!)
  })

  test('a valid incoming id is the client’s: kept beside the server’s own (X-Client-Request-Id), never as it', async () => {
    const { res, text } = await build().call('/requestId', { 'x-request-id': 'upstream:trace-0001.a_b' })
    expect(res.headers.get('x-request-id')).toMatch(UUID)
    expect(res.headers.get('x-client-request-id')).toBe('upstream:trace-0001.a_b')
    expect(text).toBe(res.headers.get('x-request-id')!)
  })

  for (const [label, incoming] of [
    ['too short', 'abc'],
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'has spaces in it'],
    ['with markup', '<script>alert(1)</script>'],
  ])
    test(`an invalid incoming id (${label}) is replaced`, async () => {
      const { res } = await build().call('/requestId', { 'x-request-id': incoming! })
      expect(res.headers.get('x-request-id')).toMatch(UUID)
    })
})

describe('the request log line', () => {
  test('one line per request: request id, user, method, route template (not the raw path), status, duration', async () => {
    const { call, lines } = build()
    const { res, text } = await call('/items/42', { 'x-request-id': 'log-line-probe-1' })
    const requestId = res.headers.get('x-request-id')
    expect(JSON.parse(text)).toEqual({ id: '42', sameId: requestId })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', request_id: requestId, client_request_id: 'log-line-probe-1', user: 'ann@example.com', method: 'GET', route: '/items/:id', status: 200 })
    expect(lines[0]!.duration_ms).toBeNumber()
  })

  test('a 5xx is logged at error level', async () => {
    const { call, lines } = build()
    await call('/broken')
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'request failed', status: 503, route: '/broken' })
  })

  test('outside a request there is no state, and the id reads "unknown"', () => {
    const request = new Request('http://localhost/')
    expect(requestState(request)).toBeUndefined()
    expect(requestIdOf(request)).toBe('unknown')
  })
})
