/**
 * The quota plugin's contract. A store counts requests per key in a sliding
 * window: a request is allowed while fewer than `limit` requests were allowed
 * for the key in the last `windowMs`. Refused requests are not counted, so a
 * client that keeps retrying is let in as soon as the oldest request leaves the
 * window. Every backend passes tests/unit/quota-contract.test.ts.
 */
export interface QuotaRule {
  limit: number
  windowMs: number
}

export interface QuotaDecision {
  allowed: boolean
  limit: number
  /** Requests left in the window after this one (0 when refused). */
  remaining: number
  /**
   * Milliseconds until a slot frees up: when refused, how long to wait before
   * retrying (always > 0); when allowed, until the oldest counted request leaves the window.
   */
  resetMs: number
}

export interface QuotaStore {
  readonly backend: 'memory' | 'redis'
  /** Counts one request against `key` if the rule allows it. Throws when the store cannot be reached. */
  consume(key: string, rule: QuotaRule): Promise<QuotaDecision>
  /** For /readyz; throws when the store cannot be reached. */
  health(): Promise<Record<string, unknown>>
  close(): Promise<void>
}
