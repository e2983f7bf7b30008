/**
 * The offline provider: deterministic, no key, no network. It reads the kind of
 * call from the prompt (a draft, a review of "Response A, B, …", or a
 * synthesis) and writes a plausible answer in the voice of the agent's persona,
 * so the whole product runs and can be tested without a model. Token counts
 * follow the text's length; LLM_OFFLINE_LATENCY_MS adds a delay per call. Asked
 * to stream (onDelta), it sends the same text in pieces spread over that delay
 * (give or take 20 %, the same for the same prompt).
 */
import { cancellableSleep } from './cancellable-sleep'
import { citeSources } from './offline-sources'
import { estimateTokens, LlmError, type CompletionRequest, type CompletionResult, type LlmProvider } from './types'

const hash = (text: string): number => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 16777619)
  }
  return h >>> 0
}

const pick = <T>(items: readonly T[], seed: number): T => items[seed % items.length]!

const OPENINGS = [
  'Here is how I would approach this.',
  'Short answer first, then the reasoning.',
  'Let me take this apart step by step.',
  'There are a few angles worth separating here.',
]

const CONCERNS = [
  'the assumptions behind the question',
  'what evidence would change the conclusion',
  'the cost of being wrong in either direction',
  'who is affected and how quickly',
  'what can be tested cheaply before committing',
]

/** The first sentence of the persona, e.g. "You are the Skeptic." → "Skeptic". */
function voiceOf(system: string): string {
  const match = /you are (?:the |an? )?([A-Za-z -]{2,40}?)[.,:]/i.exec(system)
  return match?.[1]?.trim() ?? 'Council member'
}

function questionOf(text: string): string {
  const match = /Question:\s*([\s\S]*?)(?:\n\n|$)/.exec(text)
  return (match?.[1] ?? text).trim().slice(0, 400)
}

function draft(voice: string, question: string, seed: number): string {
  const concerns = [pick(CONCERNS, seed), pick(CONCERNS, seed >>> 3), pick(CONCERNS, seed >>> 7)]
  const unique = [...new Set(concerns)]
  return [
    `**${voice}** — ${pick(OPENINGS, seed)}`,
    '',
    `The question is: "${question}"`,
    '',
    `From the ${voice.toLowerCase()}'s point of view, the answer turns on ${unique.join(', ')}.`,
    '',
    ...unique.map((concern, i) => `${i + 1}. On ${concern}: weigh it explicitly and write down what you would expect to see if you are right.`),
    '',
    `Recommendation: start with the smallest step that tests the main assumption, then decide. (confidence ${60 + (seed % 35)}%)`,
  ].join('\n')
}

function review(voice: string, prompt: string, seed: number): string {
  const labels = [...new Set([...prompt.matchAll(/^Response ([A-Z]):/gm)].map((match) => match[1]!))]
  // Score each response deterministically from its text, so the ranking is stable for the same drafts.
  const scored = labels
    .map((label) => {
      const body = new RegExp(`^Response ${label}:\\n([\\s\\S]*?)(?=^Response [A-Z]:|^---|$(?![\\s\\S]))`, 'm').exec(prompt)?.[1] ?? ''
      // The quoting block's nonce is random per prompt; the score depends on the response alone.
      return { label, score: hash(`${voice}|${body.replace(/ nonce="[^"]*"/g, '')}`) % 1000 }
    })
    .sort((a, b) => b.score - a.score || a.label.localeCompare(b.label))
  const critiques = scored.map(
    ({ label, score }) =>
      `Response ${label}: ${score > 500 ? 'clear and well argued' : 'useful but thin on evidence'}; it ${pick(['names its assumptions', 'skips the costs', 'offers a concrete next step', 'could be more specific'], score)}.`,
  )
  return [
    `As the ${voice.toLowerCase()}, my assessment of each response:`,
    '',
    ...critiques,
    '',
    'FINAL RANKING:',
    ...scored.map(({ label }, i) => `${i + 1}. Response ${label}`),
  ].join('\n')
}

function synthesis(voice: string, prompt: string): string {
  const question = questionOf(prompt)
  const leader = /1\. ([a-z0-9-]+)/i.exec(prompt.split('Leaderboard')[1] ?? '')?.[1]
  return [
    `## The council's answer`,
    '',
    `**Question:** ${question}`,
    '',
    `The council agrees on the core: test the main assumption cheaply before committing, and make the cost of being wrong explicit.${leader ? ` The strongest draft came from ${leader}, and this synthesis leans on it.` : ''}`,
    '',
    '### Recommendations',
    '1. State the assumption the decision rests on, and how you would know it is false.',
    '2. Take the smallest reversible step that tests it.',
    '3. Decide with the evidence from that step, and record why.',
    '',
    '### Where the council disagreed',
    'Members differed on how much evidence is enough before acting; the chair sides with acting early where the step is reversible.',
    '',
    `_Synthesised by ${voice}._`,
  ].join('\n')
}

export interface OfflineOptions {
  latencyMs: number
  /** Agents whose calls fail, for exercising degradation (tests and demos): name → message. */
  failures?: Record<string, string>
}

/**
 * @example
 * const llm = createOfflineProvider({ latencyMs: 0 })
 * await llm.complete({ model: 'offline-small', messages: [{ role: 'user', content: 'Question: Why?' }] })
 */
export function createOfflineProvider({ latencyMs, failures = {} }: OfflineOptions): LlmProvider & { calls: number } {
  const provider = {
    name: 'offline',
    calls: 0,
    async complete(request: CompletionRequest): Promise<CompletionResult> {
      provider.calls++
      const started = performance.now()
      const system = request.messages.find((message) => message.role === 'system')?.content ?? ''
      const user = request.messages.filter((message) => message.role === 'user').map((message) => message.content).join('\n\n')
      const voice = voiceOf(system)
      const agent = /^Agent: (\S+)$/m.exec(system)?.[1]
      const failure = agent ? failures[agent] : undefined
      const seed = hash(`${system}|${user}`)
      // A synthesis prompt quotes the reviews (and their FINAL RANKING blocks), so it is recognised first.
      const kind = user.includes('Leaderboard (mean rank') ? 'synthesis' : user.includes('FINAL RANKING') ? 'review' : 'draft'
      const answer = kind === 'synthesis' ? synthesis(voice, user) : kind === 'review' ? review(voice, user, seed) : draft(voice, questionOf(user), seed)
      // Drafts and the synthesis cite the sources their prompt quotes (offline-sources.ts).
      const cited = kind === 'review' ? [] : citeSources(user)
      const content = cited.length > 0 ? `${answer}\n\n**From the sources:**\n${cited.join('\n')}` : answer
      if (request.onDelta && !failure) {
        // Streamed: the same text in pieces, the latency spread over them, as a real model's tokens arrive; like real
        // calls, streamed ones take more or less time (±20 %, fixed per prompt), so parallel drafts land one by one.
        // At most STEPS timers a call (a thousand councils at once are 7,000 calls), each handing over the pieces due by then.
        const pieces = chunks(content)
        const total = latencyMs * (0.8 + (0.4 * (seed % 1000)) / 1000)
        const steps = Math.min(pieces.length, STEPS)
        for (let step = 0; step < steps; step++) {
          if (latencyMs > 0) await cancellableSleep(total / steps, request.signal, 'offline')
          if (request.signal?.aborted) throw new LlmError('offline: the call was cancelled', false)
          request.onDelta(pieces.slice(Math.floor((step * pieces.length) / steps), Math.floor(((step + 1) * pieces.length) / steps)).join(''))
        }
      } else if (latencyMs > 0) await cancellableSleep(latencyMs, request.signal, 'offline')
      if (request.signal?.aborted) throw new LlmError('offline: the call was cancelled', false)
      if (failure) throw new LlmError(`offline: ${failure}`, false, 503)
      return {
        content,
        model: request.model,
        tokensIn: estimateTokens(system) + estimateTokens(user),
        tokensOut: estimateTokens(content),
        durationMs: Math.round(performance.now() - started),
      }
    },
  }
  return provider
}

/** Timers of one streamed call: its text arrives in this many parts at most. */
const STEPS = 8

/** About 60 characters a piece, cut after a space or newline so words arrive whole. */
export function chunks(text: string, size = 60): string[] {
  const pieces: string[] = []
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + size)
    if (end < text.length) {
      const cut = Math.max(text.lastIndexOf(' ', end), text.lastIndexOf('\n', end))
      if (cut > start) end = cut + 1
    }
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}
