/**
 * How many provider calls one process has in flight (LLM_MAX_IN_FLIGHT). Real
 * providers enforce requests- and tokens-per-minute limits, so an operator may
 * hold calls back below what the job concurrency would start; the default,
 * JOBS_CONCURRENCY × COUNCIL_CONCURRENCY, never holds one back. Bun's fetch has
 * its own cap per process (BUN_CONFIG_MAX_HTTP_REQUESTS, 256 by default), which
 * the server and the worker lift above this setting at start-up (./fetch-cap.ts).
 */
import { LlmError } from './types'

export interface InFlightLimit {
  /** Waits for a slot (first come, first served); the returned function gives it back. A cancelled wait throws. */
  acquire(signal?: AbortSignal): Promise<() => void>
  readonly inFlight: number
  readonly waiting: number
}

/**
 * @example
 * const limit = createInFlightLimit(50)
 * const release = await limit.acquire(signal)
 * try { await fetch(url) } finally { release() }
 */
export function createInFlightLimit(max: number): InFlightLimit {
  let inFlight = 0
  const queue: Array<() => void> = []
  const release = () => {
    const next = queue.shift()
    // The slot passes straight to the next waiter, so the count never dips and rises again.
    if (next) next()
    else inFlight--
  }
  const once = () => {
    let released = false
    return () => {
      if (released) return
      released = true
      release()
    }
  }
  return {
    get inFlight() {
      return inFlight
    },
    get waiting() {
      return queue.length
    },
    acquire(signal) {
      signal?.throwIfAborted()
      if (inFlight < max) {
        inFlight++
        return Promise.resolve(once())
      }
      return new Promise((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', cancel)
          resolve(once())
        }
        const cancel = () => {
          const index = queue.indexOf(grant)
          if (index >= 0) queue.splice(index, 1)
          reject(new LlmError('openai: the call was cancelled', false))
        }
        queue.push(grant)
        signal?.addEventListener('abort', cancel, { once: true })
      })
    },
  }
}

/** Room kept in Bun's fetch cap for this process's other outbound requests (web search, webhooks, JWKS, S3). */
const OTHER_FETCHES = 256
const BUN_MAX = 65_535
const CAP = 'BUN_CONFIG_MAX_HTTP_REQUESTS'

/** The fetch cap that lets `maxInFlight` provider calls go beside the process's other requests. */
export const fetchCapFor = (maxInFlight: number) => Math.min(BUN_MAX, maxInFlight + OTHER_FETCHES)

/**
 * Bun reads BUN_CONFIG_MAX_HTTP_REQUESTS from the environment the process
 * started with (setting process.env later changes nothing), so when it is not
 * set the process replaces itself (execve: same pid, same arguments) with one
 * that has it. The server and the worker do this first thing, before their
 * other modules load. An operator's own value is kept.
 */
export function relaunchWithFetchCap(maxInFlight: number, env: Record<string, string | undefined> = process.env): void {
  if (env[CAP] || typeof process.execve !== 'function') return
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { ...env, [CAP]: String(fetchCapFor(maxInFlight)) })
}

/** What the process log should say when the fetch cap holds provider calls back below LLM_MAX_IN_FLIGHT. */
export function fetchCapWarning(maxInFlight: number, env: Record<string, string | undefined> = process.env): string | null {
  const cap = Number(env[CAP] ?? 256)
  return cap < maxInFlight ? `${CAP}=${env[CAP] ?? '256 (unset)'} is below LLM_MAX_IN_FLIGHT=${maxInFlight}: fetch will hold provider calls back at ${cap}` : null
}
