/**
 * The providers' one wait that a cancelled call cuts short: the offline
 * provider's simulated latency and the OpenAI provider's retry backoff.
 */
import { LlmError } from './types'

/**
 * Resolves after `ms`, or rejects with `<provider>: the call was cancelled` (not retryable) as soon as
 * `signal` aborts, or at once if it already has.
 * @example
 * await cancellableSleep(backoffMs, request.signal, 'openai')
 */
export function cancellableSleep(ms: number, signal: AbortSignal | undefined, provider: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new LlmError(`${provider}: the call was cancelled`, false)
    if (signal?.aborted) return reject(cancelled())
    const cancel = () => {
      clearTimeout(timer)
      reject(cancelled())
    }
    // The listener goes when the sleep ends: a job's one signal would otherwise keep one for every wait it ever made
    // (a streamed offline call waits once per piece).
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', cancel)
      resolve()
    }, ms)
    signal?.addEventListener('abort', cancel, { once: true })
  })
}
