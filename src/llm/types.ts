/** The one interface every LLM provider implements. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

export interface CompletionRequest {
  model: string
  messages: ChatMessage[]
  temperature?: number
  maxTokens?: number
  signal?: AbortSignal
  /**
   * Receives the answer's text in pieces while it is generated, when the caller
   * wants to show it growing. A provider that can stream does so only when this
   * is set (the plain request is cheaper); the result is the whole answer either way.
   */
  onDelta?: (text: string) => void
  /**
   * Asked as the call starts, when `onDelta` is set: whether the text is worth
   * streaming now (someone follows the job). A provider whose streamed request
   * costs more than the plain one (the OpenAI-compatible one: every chunk is
   * read and parsed) sends the plain request when it answers false; absent, it
   * streams whenever `onDelta` is set.
   */
  streamWanted?: () => Promise<boolean>
}

export interface CompletionResult {
  content: string
  model: string
  tokensIn: number
  tokensOut: number
  durationMs: number
}

export interface LlmProvider {
  readonly name: string
  complete(request: CompletionRequest): Promise<CompletionResult>
  /** A cheap reachability check for the status page (no tokens spent); throws saying why when down. Absent: always up. */
  probe?(signal: AbortSignal): Promise<void>
}

/**
 * A provider failure. `retryable` says whether the same call may succeed later
 * (rate limit, 5xx, timeout, network); the message is what the user sees when
 * a council loses a member to it, so it names the provider and the cause.
 */
export class LlmError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'LlmError'
  }
}

/** About four characters a token for English text; used where a provider reports no usage. */
export const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))
