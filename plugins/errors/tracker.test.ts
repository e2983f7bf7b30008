/**
 * The error tracker's scrub on its own: what may leave for Sentry. (The whole
 * path, envelope and all, is tests/integration/error-tracking.test.ts.)
 */
import { describe, expect, test } from 'bun:test'
import { createErrorTracker, scrubEvent, scrubText } from './tracker'

describe('error tracker', () => {
  test('off without a DSN: nothing loaded, capture does nothing', async () => {
    const tracker = createErrorTracker(null, { process: 'server', release: 'test' })
    expect(tracker.enabled).toBe(false)
    tracker.capture(new Error('x'), { request_id: 'r' })
    await tracker.flush()
  })

  test('scrubText masks bearer tokens, keys, secrets in key=value form, URL credentials and emails', () => {
    const text = scrubText(
      'Bearer abcdef123456 token=s3cr3t-value api_key: "xyz789" sk-live-0123456789 acpat_abcdefghij postgres://app:pw@db/x alice@example.com fine',
    )
    expect(text).toBe('Bearer [redacted] token=[redacted] api_key: "[redacted]" [redacted] [redacted] postgres://[redacted]@db/x [email] fine')
  })

  test('scrubEvent drops the request, breadcrumbs, extra data, local variables and source lines; keeps only the allowed tags and a user id', () => {
    const event: Record<string, unknown> = scrubEvent({
      message: 'failed for bob@example.com',
      request: { data: '{"question":"secret prompt"}', headers: { cookie: 'a=b' }, query_string: 'token=x' },
      breadcrumbs: [{ message: 'GET /api/v1/sessions?token=x' }],
      extra: { body: 'prompt' },
      user: { id: 'abc123', email: 'bob@example.com', ip_address: '10.0.0.1' },
      tags: { request_id: 'r1', job_id: 'j1', route: '/x', user: 'abc123', process: 'server', prompt: 'no' },
      contexts: { runtime: { name: 'bun' }, trace: { trace_id: 't' }, state: { body: 'no' } },
      exception: { values: [{ value: 'password=hunter2 failed', stacktrace: { frames: [{ function: 'f', vars: { prompt: 'p' }, context_line: 'const key = 1', pre_context: ['a'], post_context: ['b'] }] } }] },
    })
    expect(event).toEqual({
      message: 'failed for [email]',
      user: { id: 'abc123' },
      tags: { request_id: 'r1', job_id: 'j1', route: '/x', user: 'abc123', process: 'server' },
      contexts: { runtime: { name: 'bun' } },
      exception: { values: [{ value: 'password=[redacted] failed', stacktrace: { frames: [{ function: 'f' }] } }] },
    })
  })
})
