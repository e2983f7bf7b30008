/**
 * Request logging and request ids. Every response carries X-Request-Id (a
 * valid incoming one is echoed, else one is generated) and every request
 * ends with one JSON line: request_id, user, method, route, status, duration_ms.
 */
import { Elysia } from 'elysia'
import type { Logger } from './logger'

export interface RequestState {
  requestId: string
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
      const requestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
      states.set(request, { requestId, startedAt: performance.now() })
      set.headers['x-request-id'] = requestId
    })
    .derive({ as: 'global' }, ({ request }) => ({ requestId: requestIdOf(request) }))
    .onAfterResponse({ as: 'global' }, ({ request, route, set, path }) => {
      const state = states.get(request)
      const status = typeof set.status === 'number' ? set.status : 200
      const fields = {
        request_id: state?.requestId,
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
