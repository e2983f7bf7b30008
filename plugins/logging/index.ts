/**
 * Request logging and request ids. Every request gets the server's own id,
 * which every response carries as X-Request-Id and every log line and audit
 * event records as request_id. A valid incoming X-Request-Id is the client's:
 * it is kept beside the server's (client_request_id in the log line and the
 * audit event, X-Client-Request-Id on the response), never as it — else a
 * caller could file their events under another request's id (SPEC §5 Audit;
 * issue 14, finding 10). Every request ends with one JSON line: request_id,
 * client_request_id, user, method, route, status, duration_ms.
 */
import { Elysia } from 'elysia'
import type { Logger } from './logger'

export interface RequestState {
  /** The server's own id. */
  requestId: string
  /** A valid X-Request-Id the client sent, recorded beside `requestId`. */
  clientRequestId?: string
  startedAt: number
  /** Set by the rbac guard once the caller is known. */
  user?: string
}

/** Per-request state, keyed by the Request object so every hook (and onError) can reach it. */
const states = new WeakMap<Request, RequestState>()

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

export const requestState = (request: Request): RequestState | undefined => states.get(request)

export const requestIdOf = (request: Request): string => states.get(request)?.requestId ?? 'unknown'

export interface LoggingOptions {
  logger: Logger
}

/**
 * @example
 * new Elysia().use(logging({ logger })).get('/', ({ requestId }) => requestId)
 */
export const logging = ({ logger }: LoggingOptions) =>
  new Elysia({ name: 'plugin/logging' })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get('x-request-id')
      const clientRequestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : undefined
      const requestId = crypto.randomUUID()
      states.set(request, { requestId, clientRequestId, startedAt: performance.now() })
      set.headers['x-request-id'] = requestId
      if (clientRequestId) set.headers['x-client-request-id'] = clientRequestId
    })
    .derive({ as: 'global' }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .onAfterResponse({ as: 'global' }, ({ request, route, set, path }) => {
      const state = states.get(request)
      const status = typeof set.status === 'number' ? set.status : 200
      const fields = {
        request_id: state?.requestId,
        client_request_id: state?.clientRequestId,
        user: state?.user,
        method: request.method,
        route: route || path,
        status,
        duration_ms: state ? Math.round((performance.now() - state.startedAt) * 100) / 100 : undefined,
      }
      if (status >= 500) logger.error('request failed', fields)
      else logger.info('request', fields)
    })
    .as('global')
