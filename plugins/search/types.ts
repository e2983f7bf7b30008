/**
 * The search plugin's contract: one web search for a question, answered as a
 * short list of sanitised results. Backends: `none` (the default: refuses as
 * not configured), `searxng` (a SearXNG instance's JSON API), and the disabled
 * backend DISABLE_WEB_SEARCH selects, which refuses without sending anything.
 */
import { AppError } from '../../src/errors'

export interface WebResult {
  title: string
  /** Always an http(s) URL. */
  url: string
  /** Plain text, control characters removed, at most `maxSnippetChars` long. */
  snippet: string
}

export interface SearchOptions {
  /** Cancels the request (the council's job signal); the backend's own timeout applies as well. */
  signal?: AbortSignal
  /** How many results at most; default 5, at most 20. */
  limit?: number
}

export interface WebSearch {
  /** `disabled` when DISABLE_WEB_SEARCH is set, whatever WEB_SEARCH_PROVIDER says. */
  readonly provider: 'none' | 'searxng' | 'disabled'
  /** False for `none` and `disabled`: callers refuse `web_search: true` up front instead of failing later. */
  readonly enabled: boolean
  /** At least one result, or a WebSearchError. */
  search(query: string, options?: SearchOptions): Promise<WebResult[]>
}

export type WebSearchErrorCode =
  | 'web_search_disabled'
  | 'web_search_not_configured'
  | 'web_search_bad_query'
  | 'web_search_timeout'
  | 'web_search_cancelled'
  | 'web_search_unreachable'
  | 'web_search_upstream_error'
  | 'web_search_bad_response'
  | 'web_search_no_results'

const STATUS: Record<WebSearchErrorCode, number> = {
  web_search_disabled: 403,
  // The caller asked for what this server does not offer: theirs to change (ask without it), not a fault of ours.
  web_search_not_configured: 422,
  web_search_bad_query: 400,
  web_search_timeout: 503,
  web_search_cancelled: 503,
  web_search_unreachable: 503,
  web_search_upstream_error: 503,
  web_search_bad_response: 503,
  web_search_no_results: 422,
}

const RETRYABLE = new Set<WebSearchErrorCode>(['web_search_timeout', 'web_search_unreachable', 'web_search_upstream_error'])

/**
 * Every failure of a search. An AppError, so a request-side refusal renders as
 * the API's error shape; `retryable` tells the council whether searching again
 * later may help (it goes on without web sources either way).
 */
export class WebSearchError extends AppError {
  readonly retryable: boolean
  constructor(
    override readonly code: WebSearchErrorCode,
    message: string,
    /** The HTTP status SearXNG answered, for upstream errors. */
    readonly upstreamStatus?: number,
  ) {
    super(STATUS[code], code, message)
    this.name = 'WebSearchError'
    this.retryable = RETRYABLE.has(code)
  }
}

export const DEFAULT_RESULT_LIMIT = 5
export const MAX_RESULT_LIMIT = 20
