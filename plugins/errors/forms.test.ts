/**
 * The errors plugin on a bare Elysia: a browser's error page is rendered by an
 * async renderer that sees the request (so it can show who is signed in), and
 * a route listed in `forms` answers its own refusals — validation, a limit in
 * beforeHandle, an error in the handler — with its form and what was sent,
 * while API clients still get the JSON error shape.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { errors } from '.'
import { createLogger } from '../logging/logger'
import { AppError, unauthenticated } from '../../src/errors'

const logger = createLogger({ level: 'error', sink: () => undefined })

const app = new Elysia()
  .use(
    errors({
      logger,
      renderHtml: async ({ status, request, fragment }) => `<main>page ${status} for ${new URL(request.url).pathname}${fragment ? ' (fragment)' : ''}</main>`,
      forms: {
        'POST /ask': ({ body, status, code, message, fragment }) =>
          `<form data-status="${status}" data-code="${code}" data-fragment="${fragment}">${(body as { question?: string })?.question}|${message}</form>`,
      },
    }),
  )
  .mapResponse(({ responseValue, set }) => {
    if (typeof responseValue === 'string' && responseValue.startsWith('<')) set.headers['content-type'] = 'text/html; charset=utf-8'
  })
  .post('/ask', ({ body }) => {
    if (body.question === 'busy') throw new AppError(429, 'rate_limited', 'Try again in 5 s.', { 'retry-after': '5' })
    if (body.question === 'who') throw unauthenticated()
    return 'ok'
  }, { body: t.Object({ question: t.String({ maxLength: 10 }) }) })
  .get('/boom', () => {
    throw new AppError(404, 'not_found', 'Nothing here.')
  })

const ask = (question: string, headers: Record<string, string>) =>
  app.handle(new Request('http://localhost/ask', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams({ question }) }))

describe('errors plugin: forms that answer their own refusals', () => {
  test('a validation failure from htmx: the form, with what was sent, status 422', async () => {
    const res = await ask('far too long a question', { 'hx-request': 'true' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toStartWith('<form data-status="422" data-code="validation_failed" data-fragment="true">far too long a question|')
    expect(res.headers.get('content-type')).toContain('text/html')
  })

  test('an error thrown by the handler keeps its status and headers; a plain browser post is not a fragment', async () => {
    const res = await ask('busy', { accept: 'text/html' })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(await res.text()).toBe('<form data-status="429" data-code="rate_limited" data-fragment="false">busy|Try again in 5 s.</form>')
  })

  test('401 is not a form refusal: a browser is sent to log in', async () => {
    const res = await ask('who', { accept: 'text/html' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toStartWith('/login')
  })

  test('API clients get the JSON error shape from the same route', async () => {
    const res = await ask('busy', { accept: 'application/json' })
    expect(res.status).toBe(429)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limited')
  })

  test('other routes get the async page renderer, which sees the request', async () => {
    const res = await app.handle(new Request('http://localhost/boom', { headers: { accept: 'text/html' } }))
    expect(res.status).toBe(404)
    expect(await res.text()).toBe('<main>page 404 for /boom</main>')
    const fragment = await app.handle(new Request('http://localhost/nowhere', { headers: { 'hx-request': 'true' } }))
    expect(await fragment.text()).toBe('<main>page 404 for /nowhere (fragment)</main>')
  })
})
