/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, Ollama,
 * vLLM): OPENAI_BASE_URL + /chat/completions. Each attempt has a timeout; 429,
 * 5xx, timeouts and network errors are retried with exponential backoff and
 * jitter, honouring Retry-After; other 4xx and malformed bodies fail at once.
 */
import { estimateTokens, LlmError, type CompletionRequest, type CompletionResult, type LlmProvider } from './types'

export interface OpenAiOptions {
  apiKey: string
  baseUrl: string
  timeoutMs?: number
  maxRetries?: number
  /** Base of the exponential backoff; tests shrink it. */
  backoffMs?: number
  /** Longest wait a Retry-After may impose before we give up on the call. */
  maxRetryAfterMs?: number
  fetch?: typeof fetch
}

interface ChatCompletion {
  model?: string
  choices?: Array<{ message?: { content?: string | null } }>
  usage?: { prompt_tokens?: number; completion_tokens?: number }
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(new LlmError('openai: the call was cancelled', false))
      },
      { once: true },
    )
  })

/**
 * @example
 * const llm = createOpenAiProvider({ apiKey, baseUrl: 'http://localhost:11434/v1' })
 */
export function createOpenAiProvider({
  apiKey,
  baseUrl,
  timeoutMs = 60_000,
  maxRetries = 3,
  backoffMs = 500,
  maxRetryAfterMs = 60_000,
  fetch: fetchImpl = fetch,
}: OpenAiOptions): LlmProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/chat/completions`

  const attempt = async (request: CompletionRequest): Promise<CompletionResult> => {
    const started = performance.now()
    const signals = [AbortSignal.timeout(timeoutMs), ...(request.signal ? [request.signal] : [])]
    let response: Response
    try {
      response = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'api-key': apiKey },
        body: JSON.stringify({
          model: request.model,
          messages: request.messages,
          temperature: request.temperature,
          max_tokens: request.maxTokens,
        }),
        signal: AbortSignal.any(signals),
      })
    } catch (error) {
      if (request.signal?.aborted) throw new LlmError('openai: the call was cancelled', false)
      const timedOut = (error as Error).name === 'TimeoutError'
      throw new LlmError(
        timedOut ? `openai: no answer within ${timeoutMs} ms` : `openai: could not reach ${baseUrl} (${(error as Error).message})`,
        true,
      )
    }
    const text = await response.text()
    if (!response.ok) {
      const detail = (() => {
        try {
          return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.slice(0, 200)
        } catch {
          return text.slice(0, 200)
        }
      })()
      const error = new LlmError(
        `openai: HTTP ${response.status}${detail ? `: ${detail}` : ''}`,
        response.status === 429 || response.status >= 500,
        response.status,
      )
      Object.assign(error, { retryAfterMs: retryAfterMs(response.headers.get('retry-after')) })
      throw error
    }
    let body: ChatCompletion
    try {
      body = JSON.parse(text) as ChatCompletion
    } catch {
      throw new LlmError('openai: the response was not JSON', false, response.status)
    }
    const content = body.choices?.[0]?.message?.content
    if (typeof content !== 'string') throw new LlmError('openai: the response has no choices[0].message.content', false)
    const tokensIn = body.usage?.prompt_tokens ?? estimateTokens(request.messages.map((m) => m.content).join('\n'))
    const tokensOut = body.usage?.completion_tokens ?? estimateTokens(content)
    return { content, model: body.model ?? request.model, tokensIn, tokensOut, durationMs: Math.round(performance.now() - started) }
  }

  return {
    name: 'openai',
    async complete(request) {
      for (let retry = 0; ; retry++) {
        try {
          return await attempt(request)
        } catch (error) {
          if (!(error instanceof LlmError) || !error.retryable || retry >= maxRetries) throw error
          const hinted = (error as LlmError & { retryAfterMs?: number | null }).retryAfterMs
          if (hinted != null && hinted > maxRetryAfterMs) throw error
          const backoff = backoffMs * 2 ** retry * (0.5 + Math.random() / 2)
          await sleep(hinted ?? backoff, request.signal)
        }
      }
    },
  }
}
