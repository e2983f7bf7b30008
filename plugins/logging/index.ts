/**
 * Request logging and request ids. Every request gets the server's own id,
 * which every log line and audit event records as request_id. A valid incoming
 * X-Request-Id is the client's: the response echoes it as X-Request-Id (SPEC §4),
 * and it is recorded beside the server's (client_request_id in the log line and
 * the audit event), never as it — else a caller could file their events under
 * another request's id (SPEC §5 Audit; issue 14, finding 10). The response then
 * also carries the server's own id as X-Server-Request-Id, so whoever holds it
 * can follow the request into the logs and the audit trail either way. Every
 * request ends with one JSON line: request_id, client_request_id, user, method,
 * route, status, duration_ms.
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
  /** The caller's user id and the role they act under, also set by the rbac guard (the usage rollups read them). */
  userId?: string
  role?: string
}

/** Per-request state, keyed by the Request object so every hook (and onError) can reach it. */
const states = new WeakMap<Request, RequestState>()

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

export const requestState = (request: Request): RequestState | undefined => states.get(request)

export const requestIdOf = (request: Request): string => states.get(request)?.requestId ?? 'unknown'

/** The id the caller was given in X-Request-Id (theirs when valid, else the server's): what error bodies quote. */
export const responseRequestIdOf = (request: Request): string => {
  const state = states.get(request)
  return state?.clientRequestId ?? state?.requestId ?? 'unknown'
}

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
      set.headers['x-request-id'] = clientRequestId ?? requestId
      if (clientRequestId) set.headers['x-server-request-id'] = requestId
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
