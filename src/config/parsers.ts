/**
 * How each kind of setting is read from its variable. `read` takes the raw
 * value (unset or blank: the default) through a parser that throws a plain
 * sentence, and re-throws it as a ConfigError naming the variable.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`)
    this.name = 'ConfigError'
  }
}

export type Env = Record<string, string | undefined>

/** At most `limit` requests in any sliding window of `windowMs`. */
export interface RateLimit {
  limit: number
  windowMs: number
}

/** Price per 1,000 tokens, in USD, by model. Unknown models fall back to `default`. */
export type PriceTable = Record<string, { input: number; output: number }>

export const DEFAULT_PRICES: PriceTable = {
  default: { input: 0.0005, output: 0.0015 },
  'offline-small': { input: 0.0001, output: 0.0002 },
  'offline-large': { input: 0.0005, output: 0.001 },
  'gpt-4o-mini': { input: 0.00015, output: 0.0006 },
  'gpt-4o': { input: 0.0025, output: 0.01 },
}

/** Reads one variable; `parse` throws a plain message, re-thrown naming the variable. */
export function read<T>(env: Env, name: string, fallback: T, parse: (raw: string) => T): T {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  try {
    return parse(raw)
  } catch (error) {
    throw new ConfigError(name, (error as Error).message)
  }
}

export const oneOf =
  <T extends string>(...allowed: T[]) =>
  (raw: string): T => {
    if ((allowed as string[]).includes(raw)) return raw as T
    throw new Error(`must be one of ${allowed.join(', ')} (got "${raw}")`)
  }

export const integer =
  (min: number, max: number) =>
  (raw: string): number => {
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`must be a whole number from ${min} to ${max} (got "${raw}")`)
    return value
  }

export const boolean = (raw: string): boolean => {
  if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new Error(`must be true or false (got "${raw}")`)
}

export const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)

/** An http(s) base URL without query or fragment, so paths can be appended to it. */
export const httpBaseUrl = (raw: string): string => {
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new Error(`must be an http(s) URL (got "${raw}")`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`must be an http(s) URL (got "${raw}")`)
  if (parsed.search || parsed.hash) throw new Error(`must be a base URL without ?query or #fragment (got "${raw}")`)
  if (parsed.username || parsed.password) throw new Error('must not carry credentials in the URL')
  return raw.replace(/\/+$/, '')
}

/** A Redis key prefix (QUOTA_PREFIX, EVENTS_PREFIX). */
export const keyPrefix = (raw: string): string => {
  if (!/^[A-Za-z0-9_:-]{1,64}$/.test(raw)) throw new Error('must be 1–64 letters, digits, _, : or -')
  return raw
}

export const url = (raw: string): string => {
  try {
    new URL(raw)
    return raw
  } catch {
    throw new Error(`must be a URL (got "${raw}")`)
  }
}

/** "A=admin,B=auditor" → { A: 'admin', B: 'auditor' } */
export const pairs = (raw: string): Record<string, string> =>
  Object.fromEntries(
    list(raw).map((pair) => {
      const [from, to] = pair.split('=').map((part) => part?.trim())
      if (!from || !to) throw new Error(`must be a list of claim=role pairs (got "${pair}")`)
      return [from, to]
    }),
  )

/** The rate limits every install has; RATE_LIMITS overrides them by name and may add more. */
export const DEFAULT_RATE_LIMITS: Record<string, RateLimit> = {
  'council-run': { limit: 10, windowMs: 60_000 },
  'agent-call': { limit: 30, windowMs: 60_000 },
  upload: { limit: 30, windowMs: 60_000 },
  write: { limit: 120, windowMs: 60_000 },
  // An export reads every session of a person: a few an hour is plenty.
  export: { limit: 10, windowMs: 3_600_000 },
}

const WINDOW_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "council-run=10/60s,write=120/1m" → limits merged over the defaults. */
export const rateLimits = (raw: string): Record<string, RateLimit> => {
  const limits = { ...DEFAULT_RATE_LIMITS }
  for (const entry of list(raw)) {
    const match = /^([a-z][a-z0-9-]{0,63})=(\d{1,7})\/(\d{1,7})(ms|s|m|h)$/.exec(entry)
    if (!match) throw new Error(`entries look like name=count/window, e.g. council-run=10/60s (got "${entry}")`)
    const [, name, count, amount, unit] = match
    const windowMs = Number(amount) * WINDOW_UNITS[unit!]!
    if (Number(count) < 1) throw new Error(`"${name}" must allow at least 1 request`)
    if (windowMs < 100 || windowMs > 86_400_000) throw new Error(`"${name}" needs a window from 100ms to 24h`)
    limits[name!] = { limit: Number(count), windowMs }
  }
  return limits
}

export const usd = (raw: string): number => {
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || value > 1_000_000) throw new Error(`must be an amount in USD from 0 to 1000000 (got "${raw}")`)
  return Math.round(value * 1_000_000)
}

export const prices = (raw: string): PriceTable => {
  const parsed = JSON.parse(raw) as PriceTable
  for (const [model, price] of Object.entries(parsed)) {
    if (typeof price?.input !== 'number' || typeof price?.output !== 'number')
      throw new Error(`model "${model}" needs numeric input and output prices per 1k tokens`)
  }
  return { ...DEFAULT_PRICES, ...parsed }
}

export const httpUrl = (raw: string): string => {
  if (!/^https?:$/.test(new URL(url(raw)).protocol)) throw new Error(`must be an http:// or https:// URL (got "${raw}")`)
  return raw
}
