/**
 * The one error shape, on a bare Elysia app: AppErrors keep their status, code
 * and headers; validation failures are 422 naming the field; unknown routes and
 * unparseable bodies have their own codes; anything else is a 500 that logs the
 * error (query parameters redacted) and shows no stack. Browsers get a page or,
 * from htmx, a fragment; a browser that is not signed in is sent to /login.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { AppError, notFound, tooManyRequests } from '../../src/errors'
import { logging } from '../logging'
import { createLogger } from '../logging/logger'
import { errors, wantsHtml, withoutQueryParams } from '.'

function build() {
  const logs: Array<Record<string, unknown>> = []
  const reported: unknown[] = []
  const logger = createLogger({ level: 'debug', sink: (line) => logs.push(JSON.parse(line)) })
  const app = new Elysia()
    .use(logging({ logger }))
    .use(
      errors({
        logger,
        report: (error) => reported.push(error),
        renderHtml: ({ status, code, message, requestId, fragment }) =>
          `<${fragment ? 'p' : 'html'} data-status="${status}" data-code="${code}" data-request="${requestId}">${message}`,
      }),
    )
    .get('/api/v1/things/:id', ({ params }) => {
      throw notFound(`Thing ${params.id}`)
    })
    .get('/api/v1/busy', () => {
      throw tooManyRequests('rate_limited', 'Slow down.', 2.2)
    })
    .get('/api/v1/secret', () => {
      throw new AppError(401, 'unauthenticated', 'Sign in first.')
    })
    .get('/api/v1/crash', () => {
      throw new Error('Failed query: insert into sessions values ($1)\nparams: TOP-SECRET question')
    })
    .post('/api/v1/things', ({ body }) => body, { body: t.Object({ name: t.String({ minLength: 1 }) }) })
    .post('/api/v1/steps', ({ body }) => body, { body: t.Object({ steps: t.Array(t.Object({ at: t.String() })) }) })
    .get('/page', () => {
      throw notFound('Page')
    })
    .get('/account', () => {
      throw new AppError(401, 'unauthenticated', 'Sign in first.')
    })
  const call = (path: string, init: RequestInit = {}) => app.handle(new Request(`http://localhost${path}`, init))
  return { call, logs, reported }
}

const json = async (res: Response) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any })

describe('the JSON error shape', () => {
  test('a field read off a prototype (an array where an object belongs: [].at) is reported absent, never with a built-in function’s source', async () => {
    const res = await json(await build().call('/api/v1/steps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ steps: [[]] }) }))
    expect(res.status).toBe(422)
    expect(JSON.stringify(res.body)).not.toContain('native code')
    expect(res.body.error.details).toContainEqual({ field: 'steps.0.at', message: "Expected property 'steps.0.at' to be string but found: nothing" })
  })

  test('an AppError keeps its status, code and message; request_id is the response X-Request-Id', async () => {
    const res = await json(await build().call('/api/v1/things/42', { headers: { 'x-request-id': 'error-probe-001' } }))
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.body).toEqual({ error: { code: 'not_found', message: 'Thing 42 was not found.', request_id: res.headers.get('x-request-id') } })
    // The client's own id is echoed (SPEC §4); the server's own comes beside it.
    expect(res.body.error.request_id).toBe('error-probe-001')
    expect(res.headers.get('x-server-request-id')).not.toBe('error-probe-001')
  })

  test("an AppError's headers are sent (Retry-After, rounded up to whole seconds)", async () => {
    const res = await json(await build().call('/api/v1/busy'))
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
  })

  test('a validation failure is 422 validation_failed naming the field, with details', async () => {
    const res = await json(await build().call('/api/v1/things', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":""}' }))
    expect(res.status).toBe(422)
    expect(res.body.error.code).toBe('validation_failed')
    expect(res.body.error.message).toContain('"name"')
    expect(res.body.error.details[0].field).toBe('name')
  })

  test('an unknown route is 404 route_not_found; a body that does not parse is 400 invalid_body', async () => {
    const { call } = build()
    expect((await json(await call('/api/v1/nothing'))).body.error.code).toBe('route_not_found')
    const broken = await json(await call('/api/v1/things', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }))
    expect(broken.status).toBe(400)
    expect(broken.body.error.code).toBe('invalid_body')
  })

  test('an unexpected error is a 500 internal_error quoting the request id; it is logged and reported without the query parameters', async () => {
    const { call, logs, reported } = build()
    const res = await json(await call('/api/v1/crash', { headers: { 'x-request-id': 'crash-probe-001' } }))
    expect(res.status).toBe(500)
    expect(res.body.error.code).toBe('internal_error')
    expect(res.body.error.message).toContain(res.headers.get('x-request-id')!)
    expect(JSON.stringify(res.body)).not.toContain('insert into')
    const line = logs.find((entry) => entry.msg === 'unhandled error')
    expect(res.body.error.message).toContain('crash-probe-001')
    expect(line).toMatchObject({ request_id: res.headers.get('x-server-request-id'), client_request_id: 'crash-probe-001', route: '/api/v1/crash' })
    expect(JSON.stringify(line)).not.toContain('TOP-SECRET')
    expect(String(line!.error)).toContain('params: [redacted]')
    expect(reported).toHaveLength(1)
  })
})

describe('browsers', () => {
  const page = { accept: 'text/html' }

  test('a page request gets the rendered error page with the status; htmx gets the fragment', async () => {
    const { call } = build()
    const full = await call('/page', { headers: page })
    expect(full.status).toBe(404)
    expect(full.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(await full.text()).toStartWith('<html data-status="404" data-code="not_found"')
    const fragment = await call('/page', { headers: { 'hx-request': 'true' } })
    expect(await fragment.text()).toStartWith('<p data-status="404"')
  })

  test('401 on a page: a browser is sent to /login with the page to return to; htmx is told to go there', async () => {
    const { call } = build()
    const redirect = await call('/account', { headers: page })
    expect(redirect.status).toBe(303)
    expect(redirect.headers.get('location')).toBe('/login?next=%2Faccount')
    const fragment = await call('/account', { headers: { 'hx-request': 'true' } })
    expect(fragment.status).toBe(401)
    expect(fragment.headers.get('hx-redirect')).toBe('/login')
  })

  test('API paths answer JSON even to a browser', async () => {
    const res = await build().call('/api/v1/secret', { headers: page })
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toBe('application/json')
  })

  test('wantsHtml and withoutQueryParams', () => {
    const request = (headers: Record<string, string>) => new Request('http://localhost/x', { headers })
    expect(wantsHtml(request({ accept: 'text/html' }), '/sessions')).toBe(true)
    expect(wantsHtml(request({ 'hx-request': 'true' }), '/api/v1/sessions')).toBe(false)
    expect(wantsHtml(request({}), '/sessions')).toBe(false)
    expect(withoutQueryParams('Failed query: select 1\nparams: a,b\n    at x (y.ts:1)')).toBe('Failed query: select 1\nparams: [redacted]\n    at x (y.ts:1)')
  })
})
