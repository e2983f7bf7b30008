/**
 * Error tracking (SPEC §3 "errors"): with SENTRY_DSN set, unexpected errors —
 * a request that ends in a 500, a job attempt that fails for a reason the
 * council does not know — go to Sentry (@sentry/bun) from the server and the
 * worker, tagged with request_id, job_id, route and a hash of the user. Off by
 * default; the SDK is only loaded when a DSN is set.
 *
 * What leaves is scrubbed in `beforeSend` (scrubEvent): no request (so no body,
 * header, cookie or query string), no breadcrumbs, no extra data, no local
 * variables; the user is only a hash; messages have bearer tokens, keys,
 * secrets and email addresses masked. Prompts and answers never reach an error
 * (they live in the database), and the scrub holds if one ever did in a message.
 */
import type { SentryConfig } from '../../src/config/operations'
import { hashUser } from '../logging/logger'

interface ErrorContext {
  request_id?: string
  job_id?: string
  /** The route template (`/api/v1/sessions/:id`) or `job:<kind>`. */
  route?: string
  /** Who it happened to: hashed before it is sent. */
  user?: string
}

export interface ErrorTracker {
  readonly enabled: boolean
  capture(error: unknown, context: ErrorContext): void
  /** Waits for events in flight (shutdown, tests). */
  flush(timeoutMs?: number): Promise<void>
}

/** The tags an event may keep; everything else is dropped. */
const TAGS = new Set(['request_id', 'job_id', 'route', 'user', 'process'])

const SECRETS: Array<[RegExp, string]> = [
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, '$1 [redacted]'],
  [/\b(acpat_|sk-|sk_|pk_|rk_|ghp_|xox[abp]-)[A-Za-z0-9_-]{6,}/g, '[redacted]'],
  [/\b(password|passwd|secret|token|api[_-]?key|authorization|cookie|dsn)(["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, '$1$2[redacted]'],
  [/\/\/[^/\s:@]+:[^/\s@]+@/g, '//[redacted]@'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]'],
]

/** Masks what looks like a secret or an email address in a message. */
export const scrubText = (text: string): string => SECRETS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text)

interface MinimalEvent {
  message?: string
  request?: unknown
  breadcrumbs?: unknown
  extra?: unknown
  user?: Record<string, unknown>
  tags?: Record<string, unknown>
  contexts?: Record<string, unknown>
  exception?: { values?: Array<{ value?: string; stacktrace?: { frames?: Array<{ vars?: unknown; pre_context?: unknown; context_line?: unknown; post_context?: unknown }> } }> }
}

/**
 * The event as it may leave: see the file's note. Pure, so it is tested on its own.
 * @example
 * scrubEvent({ request: { data: '…' }, exception: { values: [{ value: 'token=abc123xyz' }] } })
 */
export function scrubEvent<E extends object>(original: E): E {
  // Sentry's event type, read through the fields this touches.
  const event = original as MinimalEvent
  delete event.request
  delete event.breadcrumbs
  delete event.extra
  if (event.message) event.message = scrubText(event.message)
  const user = event.user?.id
  event.user = typeof user === 'string' ? { id: user } : undefined
  if (event.tags) event.tags = Object.fromEntries(Object.entries(event.tags).filter(([key]) => TAGS.has(key)))
  // Runtime and OS say where it happened; any other context (trace data, request state) is dropped.
  if (event.contexts) event.contexts = Object.fromEntries(Object.entries(event.contexts).filter(([key]) => key === 'runtime' || key === 'os'))
  for (const value of event.exception?.values ?? []) {
    if (value.value) value.value = scrubText(value.value)
    for (const frame of value.stacktrace?.frames ?? []) {
      delete frame.vars
      delete frame.pre_context
      delete frame.context_line
      delete frame.post_context
    }
  }
  return original
}

const OFF: ErrorTracker = { enabled: false, capture: () => undefined, flush: async () => undefined }

export interface TrackerOptions {
  /** `server` or `worker`: a tag on every event. */
  process: 'server' | 'worker'
  release: string
  /** Told when the SDK cannot be loaded or an event cannot be captured (never throws). */
  onError?: (error: Error) => void
}

/**
 * @example
 * const tracker = createErrorTracker(config.operations.sentry, { process: 'server', release: '0.1.0' })
 * tracker.capture(error, { request_id, route: '/api/v1/sessions', user: actor.userId })
 */
export function createErrorTracker(config: SentryConfig | null, { process: processName, release, onError }: TrackerOptions): ErrorTracker {
  if (!config) return OFF
  const sdk = import('@sentry/bun').then((Sentry) => {
    Sentry.initWithoutDefaultIntegrations({
      dsn: config.dsn,
      environment: config.environment,
      release,
      sampleRate: config.sampleRate,
      // Errors only: no tracing, no logs, no breadcrumbs (they would carry URLs and console output).
      integrations: [Sentry.linkedErrorsIntegration(), Sentry.eventFiltersIntegration()],
      maxBreadcrumbs: 0,
      beforeBreadcrumb: () => null,
      beforeSend: (event) => scrubEvent(event),
    })
    return Sentry
  })
  sdk.catch((error: Error) => onError?.(error))
  return {
    enabled: true,
    capture(error, context) {
      void sdk
        .then((Sentry) =>
          Sentry.withScope((scope) => {
            scope.setTag('process', processName)
            if (context.request_id) scope.setTag('request_id', context.request_id)
            if (context.job_id) scope.setTag('job_id', context.job_id)
            if (context.route) scope.setTag('route', context.route)
            if (context.user) {
              const hashed = hashUser(context.user)
              scope.setTag('user', hashed)
              scope.setUser({ id: hashed })
            }
            Sentry.captureException(error)
          }),
        )
        .catch((failure: Error) => onError?.(failure))
    },
    async flush(timeoutMs = 2000) {
      const Sentry = await sdk.catch(() => null)
      await Sentry?.flush(timeoutMs)
    },
  }
}
