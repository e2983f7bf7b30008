/**
 * Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI, Ollama,
 * vLLM): OPENAI_BASE_URL + /chat/completions. Each attempt has a timeout; 429,
 * 5xx, timeouts and network errors are retried with exponential backoff and
 * jitter, honouring Retry-After; other 4xx and malformed bodies fail at once.
 * A caller that wants the text as it is generated (onDelta) gets a streamed
 * request (`stream: true`, usage in the last chunk) when its streamWanted says
 * someone is looking; everyone else the plain one.
 * At most `maxInFlight` attempts are in flight at once (LLM_MAX_IN_FLIGHT; a
 * call waits for a slot, and gives it back while it backs off); connections
 * are kept alive and reused by Bun's fetch.
 */
import { cancellableSleep } from './cancellable-sleep'
import { createInFlightLimit } from './in-flight'
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
  /** Attempts in flight at once, across every caller of this provider (LLM_MAX_IN_FLIGHT). */
  maxInFlight?: number
  fetch?: typeof fetch
}

interface ChatCompletion {
  model?: string
  choices?: Array<{ message?: { content?: string | null } }>
  usage?: { prompt_tokens?: number; completion_tokens?: number }
}

/** One `data:` chunk of a streamed completion; the last one (with stream_options.include_usage) has usage and no choices. */
interface ChatCompletionChunk {
  model?: string
  choices?: Array<{ delta?: { content?: string | null } }>
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null
  error?: { message?: string }
}

/**
 * Reads a server-sent event stream of chat-completion chunks, calling onChunk
 * for each JSON `data:` line until `data: [DONE]` or the end of the body.
 */
async function readChunks(body: ReadableStream<Uint8Array>, onChunk: (chunk: ChatCompletionChunk) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const line = (text: string): boolean => {
    if (!text.startsWith('data:')) return false
    const data = text.slice(5).trim()
    if (data === '[DONE]') return true
    if (!data) return false
    let chunk: ChatCompletionChunk
    try {
      chunk = JSON.parse(data) as ChatCompletionChunk
    } catch {
      throw new LlmError('openai: a streamed chunk was not JSON', false)
    }
    if (chunk.error) throw new LlmError(`openai: the stream failed: ${chunk.error.message ?? 'unknown error'}`, true)
    onChunk(chunk)
    return false
  }
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      const lines = buffer.split(/\r\n|\r|\n/)
      buffer = lines.pop() ?? ''
      for (const text of lines) if (line(text)) return
    }
    line(buffer + decoder.decode())
  } finally {
    reader.releaseLock()
  }
}

/** Retry-After is seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}

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
  maxInFlight = Number.POSITIVE_INFINITY,
  fetch: fetchImpl = fetch,
}: OpenAiOptions): LlmProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/chat/completions`
  const limit = createInFlightLimit(maxInFlight)
  const attempt = async (request: CompletionRequest): Promise<CompletionResult> => {
    const release = await limit.acquire(request.signal)
    try {
      return await send(request)
    } finally {
      release()
    }
  }

  const send = async (request: CompletionRequest): Promise<CompletionResult> => {
    const started = performance.now()
    // Streamed only when someone can see the text: a streamed answer costs a read and a parse per chunk.
    const onDelta = request.onDelta && (await (request.streamWanted?.().catch(() => true) ?? true)) ? request.onDelta : undefined
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
          ...(onDelta ? { stream: true, stream_options: { include_usage: true } } : {}),
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
    if (!response.ok) {
      const text = await response.text()
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
    const estimatedIn = () => estimateTokens(request.messages.map((m) => m.content).join('\n'))
    if (onDelta) {
      let content = ''
      let model = request.model
      let usage: ChatCompletionChunk['usage'] = null
      try {
        if (!response.body) throw new LlmError('openai: the streamed response has no body', false)
        await readChunks(response.body, (chunk) => {
          if (chunk.model) model = chunk.model
          if (chunk.usage) usage = chunk.usage
          const piece = chunk.choices?.[0]?.delta?.content
          if (typeof piece === 'string' && piece) {
            content += piece
            onDelta(piece)
          }
        })
      } catch (error) {
        if (request.signal?.aborted) throw new LlmError('openai: the call was cancelled', false)
        if (error instanceof LlmError) throw Object.assign(error, { partial: content.length > 0 })
        const timedOut = (error as Error).name === 'TimeoutError'
        throw Object.assign(
          new LlmError(timedOut ? `openai: the answer did not finish within ${timeoutMs} ms` : `openai: the stream broke (${(error as Error).message})`, true),
          { partial: content.length > 0 },
        )
      }
      if (!content) throw new LlmError('openai: the stream carried no content', false)
      const used = usage as ChatCompletionChunk['usage']
      return {
        content,
        model,
        tokensIn: used?.prompt_tokens ?? estimatedIn(),
        tokensOut: used?.completion_tokens ?? estimateTokens(content),
        durationMs: Math.round(performance.now() - started),
      }
    }
    const text = await response.text()
    let body: ChatCompletion
    try {
      body = JSON.parse(text) as ChatCompletion
    } catch {
      throw new LlmError('openai: the response was not JSON', false, response.status)
    }
    const content = body.choices?.[0]?.message?.content
    if (typeof content !== 'string') throw new LlmError('openai: the response has no choices[0].message.content', false)
    const tokensIn = body.usage?.prompt_tokens ?? estimatedIn()
    const tokensOut = body.usage?.completion_tokens ?? estimateTokens(content)
    return { content, model: body.model ?? request.model, tokensIn, tokensOut, durationMs: Math.round(performance.now() - started) }
  }

  return {
    name: 'openai',
    /** Lists the models: authenticated, costs no tokens. */
    async probe(signal) {
      const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/models`, { headers: { authorization: `Bearer ${apiKey}`, 'api-key': apiKey }, signal })
      await res.body?.cancel().catch(() => undefined)
      if (!res.ok) throw new Error(`openai: ${baseUrl} answered ${res.status} to GET /models`)
    },
    async complete(request) {
      for (let retry = 0; ; retry++) {
        try {
          return await attempt(request)
        } catch (error) {
          if (!(error instanceof LlmError) || !error.retryable || retry >= maxRetries) throw error
          // Text already handed to onDelta cannot be taken back, so a stream that broke part-way is not
          // retried here: the council's own retry runs the call again from the start.
          if ((error as LlmError & { partial?: boolean }).partial) throw error
          const hinted = (error as LlmError & { retryAfterMs?: number | null }).retryAfterMs
          if (hinted != null && hinted > maxRetryAfterMs) throw error
          const backoff = backoffMs * 2 ** retry * (0.5 + Math.random() / 2)
          await cancellableSleep(hinted ?? backoff, request.signal, 'openai')
        }
      }
    },
  }
}
