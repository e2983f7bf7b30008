/** How the app's listener answers what escapes the app (src/server.ts, and tests that listen). */
import type { Logger } from '../plugins/logging/logger'
import { securityHeaderValues } from '../plugins/security'
import type { Config } from './config'

/**
 * Bun.serve options of the app's listener. Bun's development error page (a 50 KB
 * page with source paths and no security headers) is never served in production,
 * and anything that escapes Elysia's own error handler — a response body that
 * fails while being sent — answers the one error shape, 500 internal_error,
 * logged without detail (issue 14, finding 3).
 * @example
 * createApp(config, deps).listen({ port: config.port, ...serveOptions(config, deps.logger) })
 */
export function serveOptions(config: Config, logger: Logger) {
  const headers = { ...securityHeaderValues(config.env === 'production'), 'content-type': 'application/json' }
  return {
    development: config.env !== 'production',
    error(error: Error) {
      const requestId = crypto.randomUUID()
      logger.error('response failed outside the app', { request_id: requestId, error: error.name })
      const body = { error: { code: 'internal_error', message: `Something went wrong on our side. Quote request id ${requestId} when reporting it.`, request_id: requestId } }
      return new Response(JSON.stringify(body), { status: 500, headers: { ...headers, 'x-request-id': requestId } })
    },
  }
}
