/**
 * The one error shape. Every error — thrown AppErrors, validation failures,
 * unknown routes, unparseable bodies, unexpected exceptions — becomes
 * {"error":{"code","message","request_id"}} with the right status for the API,
 * or an error page / htmx fragment for browsers. A 500 never leaks a stack.
 */
import { Elysia } from 'elysia'
import { AppError } from '../../src/errors'
import { own } from '../../src/lookup'
import { requestIdOf, requestState, responseRequestIdOf } from '../logging'
import type { Logger } from '../logging/logger'

interface ErrorBody {
  error: { code: string; message: string; request_id: string; details?: unknown }
}

export interface ErrorsOptions {
  logger: Logger
  /** Renders an error for a browser: a whole page, or a fragment when `fragment` is true; `request` and `cookie` say who is looking. */
  renderHtml?: (error: HtmlError) => string | Promise<string>
  /**
   * Forms that answer their own refusals: keyed by "METHOD /route", each re-renders its
   * form with what was typed and the message beside the field, instead of an error page.
   */
  forms?: Record<string, (error: HtmlError & { body: unknown; context: Record<string, unknown> }) => string | Promise<string>>
  /** Reports an unexpected error to an error tracker (Sentry, ./tracker.ts), if configured. */
  report?: (error: unknown, context: { request_id: string; route: string; user?: string }) => void
}

export interface HtmlError {
  status: number
  code: string
  message: string
  requestId: string
  fragment: boolean
  /** Retry-After and the like, already set on the response. */
  headers?: Record<string, string>
  /** Validation details, when there are some. */
  details?: unknown
  request: Request
  cookie?: Record<string, { value?: unknown }>
}

interface Normalised {
  status: number
  code: string
  message: string
  headers?: Record<string, string>
  details?: unknown
}

const ELYSIA_CODES: Record<string, Normalised> = {
  NOT_FOUND: { status: 404, code: 'route_not_found', message: 'No route matches this method and path.' },
  PARSE: {
    status: 400,
    code: 'invalid_body',
    message: 'The request body could not be parsed; check that it matches its Content-Type.',
  },
  INVALID_COOKIE_SIGNATURE: { status: 401, code: 'invalid_cookie', message: 'The session cookie is invalid; log in again.' },
  INVALID_FILE_TYPE: { status: 415, code: 'unsupported_media_type', message: 'This file type is not accepted.' },
}

/**
 * drizzle's "Failed query: … params: …" messages carry the values bound to the
 * query — a user's question, say — which must not reach the logs (SPEC §5).
 */
export const withoutQueryParams = (text: string): string => text.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/g, '\nparams: [redacted]')

/**
 * Elysia's summaries end "but found: <value>". A field missing from an array or
 * object can be read off its prototype (`[].at`), which prints a built-in
 * function's source: say it was absent. Long values are cut, not echoed whole.
 */
const safeSummary = (text: string): string =>
  text.replace(/but found: function [\s\S]*$/, 'but found: nothing').replace(/(but found: [\s\S]{80})[\s\S]+$/, '$1…')

/** Turns an Elysia validation error into a sentence naming the field. */
function describeValidation(error: unknown): Normalised {
  const v = error as { type?: string; all?: Array<{ path?: string; message?: string; summary?: string }> }
  const issues = (v.all ?? []).map((issue) => ({
    field: (issue.path ?? '').replace(/^\//, '').replaceAll('/', '.') || v.type || 'request',
    message: safeSummary(issue.summary ?? issue.message ?? 'is invalid'),
  }))
  const first = issues[0]
  const where = v.type && v.type !== 'body' ? `${v.type} ` : ''
  return {
    status: 422,
    code: 'validation_failed',
    message: first ? `Invalid ${where}field "${first.field}": ${first.message}.` : 'The request is invalid.',
    details: issues,
  }
}

/**
 * A response that fails its own schema is the server's fault, not the caller's: it takes the
 * path of every unexpected error (500 internal_error, no detail), never 422 validation_failed.
 */
const isResponseValidation = (code: string | number, error: unknown) =>
  code === 'VALIDATION' && (error as { type?: unknown }).type === 'response'

function normalise(code: string | number, error: unknown): Normalised | null {
  if (error instanceof AppError)
    return { status: error.status, code: error.code, message: error.message, headers: error.headers, details: error.details }
  if (isResponseValidation(code, error)) return null
  if (code === 'VALIDATION') return describeValidation(error)
  const known = typeof code === 'string' ? own(ELYSIA_CODES, code) : undefined
  if (known) return known
  // Elysia's status(…) helper throws an ElysiaCustomStatusResponse with a numeric code.
  if (typeof code === 'number' && code >= 400 && code < 500)
    return { status: code, code: 'request_error', message: String((error as { response?: unknown }).response ?? 'Request error') }
  return null
}

/** The paths of the fields a response failed on, without their values. */
const responseFields = (error: unknown): string[] =>
  ((error as { all?: Array<{ path?: string }> }).all ?? []).slice(0, 10).map((issue) => issue.path ?? '')

/**
 * A finished Response rather than a value: with any global mapResponse hook in
 * the app, Elysia drops a value returned from onError for unmatched routes.
 */
function respond(set: { status?: unknown; headers: Record<string, unknown> }, body: string, contentType: string) {
  const headers = new Headers()
  for (const [name, value] of Object.entries(set.headers)) if (typeof value === 'string') headers.set(name, value)
  headers.set('content-type', contentType)
  return new Response(body, { status: typeof set.status === 'number' ? set.status : 500, headers })
}

/** Is this request from a browser page rather than the JSON API? */
export const wantsHtml = (request: Request, path: string): boolean =>
  !path.startsWith('/api/') &&
  !path.startsWith('/swagger/json') &&
  (request.headers.get('hx-request') === 'true' || (request.headers.get('accept') ?? '').includes('text/html'))

/**
 * @example
 * new Elysia().use(errors({ logger })).get('/', () => { throw notFound('Session') })
 */
export const errors = ({ logger, renderHtml, report, forms = {} }: ErrorsOptions) =>
  new Elysia({ name: 'plugin/errors' })
    .onError({ as: 'global' }, async (context) => {
      const { code, error, request, set, path } = context
      // Logs carry the server's own id; what the caller reads quotes the id their X-Request-Id holds (SPEC §4).
      const requestId = requestIdOf(request)
      const shownRequestId = responseRequestIdOf(request)
      let normalised = normalise(code, error)
      // What the error tracker gets: the caller's id when the guard resolved them, else the email it noted (it hashes it).
      const tracked = () => {
        const actor = (context as { actor?: { userId?: string } }).actor
        return { request_id: requestId, route: (context as { route?: string }).route || path, user: actor?.userId || requestState(request)?.user }
      }
      if (!normalised && isResponseValidation(code, error)) {
        // Its message holds the values the route answered with (a user's data): only where it failed is logged.
        logger.error('response failed its schema', { request_id: requestId, client_request_id: requestState(request)?.clientRequestId, route: path, fields: responseFields(error) })
        report?.(new Error(`response of ${path} failed its schema`), tracked())
      } else if (!normalised) {
        logger.error('unhandled error', {
          request_id: requestId,
          client_request_id: requestState(request)?.clientRequestId,
          route: path,
          error: withoutQueryParams(error instanceof Error ? error.message : String(error)),
          // Drivers wrap the database's own message (e.g. a constraint name) in `cause`.
          cause: error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined,
          stack: error instanceof Error && error.stack ? withoutQueryParams(error.stack) : undefined,
        })
        report?.(error, tracked())
      }
      if (!normalised) {
        normalised = {
          status: 500,
          code: 'internal_error',
          message: `Something went wrong on our side. Quote request id ${shownRequestId} when reporting it.`,
        }
      }
      set.status = normalised.status
      for (const [name, value] of Object.entries(normalised.headers ?? {})) set.headers[name] = value

      if (wantsHtml(request, path) && renderHtml) {
        const fragment = request.headers.get('hx-request') === 'true'
        // A browser that is not signed in goes to the login page rather than reading a 401.
        if (normalised.status === 401 && !fragment) {
          set.status = 303
          set.headers.location = `/login?next=${encodeURIComponent(path)}`
          return ''
        }
        if (normalised.status === 401 && fragment) set.headers['hx-redirect'] = '/login'
        const cookie = (context as { cookie?: HtmlError['cookie'] }).cookie
        const html: HtmlError = { ...normalised, requestId: shownRequestId, fragment, request, cookie }
        const form = normalised.status !== 401 ? own(forms, `${request.method} ${(context as { route?: string }).route ?? ''}`) : undefined
        if (form) return respond(set, await form({ ...html, body: (context as { body?: unknown }).body, context: context as unknown as Record<string, unknown> }), 'text/html; charset=utf-8')
        return respond(set, await renderHtml(html), 'text/html; charset=utf-8')
      }
      const body: ErrorBody = { error: { code: normalised.code, message: normalised.message, request_id: shownRequestId } }
      if (normalised.details !== undefined) body.error.details = normalised.details
      return respond(set, JSON.stringify(body), 'application/json')
    })
    .as('global')
