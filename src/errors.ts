/**
 * The project's error classes. Each carries an HTTP status and a snake_case
 * code; plugins/errors turns any of them into the one error shape:
 * {"error":{"code","message","request_id"}}.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new AppError(400, code, message, {}, details)

export const unauthenticated = (message = 'Sign in first: send a bearer token, or log in at /login.') =>
  new AppError(401, 'unauthenticated', message)

export const forbidden = (message: string, code = 'forbidden') => new AppError(403, code, message)

/** Also used for other users' resources: their existence is not revealed. */
export const notFound = (what: string) => new AppError(404, 'not_found', `${what} was not found.`)

export const conflict = (code: string, message: string) => new AppError(409, code, message)

export const unprocessable = (code: string, message: string, details?: unknown) =>
  new AppError(422, code, message, {}, details)

export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new AppError(429, code, message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) })
