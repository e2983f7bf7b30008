/**
 * The offline provider: deterministic answers in each persona's voice, reviews
 * that parseRanking reads cleanly, syntheses recognised as such, token counts,
 * latency with cancellation, and simulated failures for named agents.
 */
import { describe, expect, test } from 'bun:test'
import { AGENTS } from '../../src/council/catalog'
import { draftPrompt, reviewPrompt, synthesisPrompt, type AgentProfile } from '../../src/council/prompts'
import { parseRanking } from '../../src/council/ranking'
import { createOfflineProvider } from '../../src/llm/offline'
import { LlmError, type ChatMessage } from '../../src/llm/types'

const profile = (name: string): AgentProfile => {
  const agent = AGENTS.find((candidate) => candidate.name === name)!
  return { name: agent.name, persona: agent.persona }
}
const analyst = profile('analyst')
const skeptic = profile('skeptic')
const pragmatist = profile('pragmatist')
const chair = profile('chair')
const QUESTION = 'Should we move our build to a monorepo this quarter?'

const complete = (messages: ChatMessage[], options: Parameters<typeof createOfflineProvider>[0] = { latencyMs: 0 }) =>
  createOfflineProvider(options).complete({ model: 'offline-small', messages })

describe('offline provider: content', () => {
  test('the same input gives the same output, across provider instances', async () => {
    const first = await complete(draftPrompt(analyst, QUESTION))
    const second = await complete(draftPrompt(analyst, QUESTION))
    expect(second).toMatchObject({ content: first.content, tokensIn: first.tokensIn, tokensOut: first.tokensOut, model: 'offline-small' })
    // A different question gives a different answer (the output depends on the input).
    const other = await complete(draftPrompt(analyst, 'Is it time to rewrite billing?'))
    expect(other.content).not.toBe(first.content)
  })

  test('each persona writes a distinct draft in its own voice, quoting the question', async () => {
    const drafts = await Promise.all([analyst, skeptic, pragmatist].map((agent) => complete(draftPrompt(agent, QUESTION))))
    const contents = drafts.map((draft) => draft.content)
    expect(new Set(contents).size).toBe(3)
    expect(contents[0]).toContain('**Analyst**')
    expect(contents[1]).toContain('**Skeptic**')
    expect(contents[2]).toContain('**Pragmatist**')
    for (const content of contents) {
      expect(content).toContain(QUESTION)
      expect(content).not.toContain('FINAL RANKING')
    }
  })

  test('a review prompt yields a review whose FINAL RANKING parses cleanly over exactly the given labels', async () => {
    const drafts = await Promise.all([analyst, pragmatist, chair].map((agent) => complete(draftPrompt(agent, QUESTION))))
    const responses = drafts.map((draft, i) => ({ label: 'ABC'[i]!, content: draft.content }))
    const review = await complete(reviewPrompt(skeptic, QUESTION, responses))
    expect(review.content).toContain('FINAL RANKING:')
    const parsed = parseRanking(review.content, ['A', 'B', 'C'])
    expect(parsed.status).toBe('parsed')
    expect(parsed.problems).toEqual([])
    expect([...parsed.ranking].sort()).toEqual(['A', 'B', 'C'])

    // Two labels: exactly those two, nothing invented.
    const pair = await complete(reviewPrompt(analyst, QUESTION, responses.slice(0, 2)))
    const parsedPair = parseRanking(pair.content, ['A', 'B'])
    expect(parsedPair.status).toBe('parsed')
    expect(parsedPair.problems).toEqual([])
    expect([...parsedPair.ranking].sort()).toEqual(['A', 'B'])
  })

  test('reviews are stable for the same drafts and depend on the reviewer', async () => {
    const drafts = await Promise.all([analyst, skeptic, pragmatist].map((agent) => complete(draftPrompt(agent, QUESTION))))
    const responses = drafts.map((draft, i) => ({ label: 'ABC'[i]!, content: draft.content }))
    const once = await complete(reviewPrompt(chair, QUESTION, responses))
    const twice = await complete(reviewPrompt(chair, QUESTION, responses))
    expect(twice.content).toBe(once.content)
    const byOthers = await Promise.all(
      [analyst, skeptic, pragmatist, profile('historian'), profile('economist')].map((agent) =>
        complete(reviewPrompt(agent, QUESTION, responses)),
      ),
    )
    expect(new Set(byOthers.map((review) => review.content)).size).toBeGreaterThan(1)
  })

  test('a synthesis prompt yields a synthesis, not a review, that names the leader', async () => {
    const drafts = await Promise.all([analyst, skeptic].map(async (agent) => ({ agent: agent.name, content: (await complete(draftPrompt(agent, QUESTION))).content })))
    const reviewText = (await complete(reviewPrompt(analyst, QUESTION, [{ label: 'A', content: drafts[1]!.content }]))).content
    const result = await complete(
      synthesisPrompt(chair, QUESTION, drafts, [{ reviewer: 'analyst', content: reviewText }], [
        { position: 1, agent: 'skeptic', mean_rank: 1, borda: 1, votes: 1 },
        { position: 2, agent: 'analyst', mean_rank: null, borda: 0, votes: 0 },
      ]),
    )
    // The prompt quotes a review with its FINAL RANKING block; the answer must still be a synthesis.
    expect(result.content).not.toContain('FINAL RANKING')
    expect(result.content).toContain("## The council's answer")
    expect(result.content).toContain(QUESTION)
    expect(result.content).toContain('The strongest draft came from skeptic')
    expect(result.content).toContain('Synthesised by Chair')
  })

  test('token counts are positive and grow with the prompt', async () => {
    const short = await complete(draftPrompt(analyst, 'Why?'))
    const long = await complete(draftPrompt(analyst, `Why? ${'context '.repeat(400)}`))
    for (const result of [short, long]) {
      expect(result.tokensIn).toBeGreaterThan(0)
      expect(result.tokensOut).toBeGreaterThan(0)
      expect(Number.isInteger(result.tokensIn)).toBe(true)
      expect(result.durationMs).toBeGreaterThanOrEqual(0)
    }
    expect(long.tokensIn).toBeGreaterThan(short.tokensIn + 300)
  })

  test('counts its calls', async () => {
    const llm = createOfflineProvider({ latencyMs: 0 })
    await llm.complete({ model: 'offline-small', messages: draftPrompt(analyst, QUESTION) })
    await llm.complete({ model: 'offline-small', messages: draftPrompt(skeptic, QUESTION) })
    expect(llm.calls).toBe(2)
  })
})

describe('offline provider: latency and cancellation', () => {
  test('LLM_OFFLINE_LATENCY_MS delays each call', async () => {
    const llm = createOfflineProvider({ latencyMs: 120 })
    const started = performance.now()
    const result = await llm.complete({ model: 'offline-small', messages: draftPrompt(analyst, QUESTION) })
    expect(performance.now() - started).toBeGreaterThanOrEqual(110)
    expect(result.durationMs).toBeGreaterThanOrEqual(110)
  })

  test('an abort during the delay rejects at once with LlmError', async () => {
    const llm = createOfflineProvider({ latencyMs: 5_000 })
    const controller = new AbortController()
    const started = performance.now()
    const call = llm.complete({ model: 'offline-small', messages: draftPrompt(analyst, QUESTION), signal: controller.signal })
    setTimeout(() => controller.abort(), 30)
    const error = await call.then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LlmError)
    expect((error as LlmError).message).toContain('cancelled')
    expect((error as LlmError).retryable).toBe(false)
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  test('an already-aborted signal rejects without waiting for the delay', async () => {
    const llm = createOfflineProvider({ latencyMs: 1_000 })
    const started = performance.now()
    const error = await llm
      .complete({ model: 'offline-small', messages: draftPrompt(analyst, QUESTION), signal: AbortSignal.abort() })
      .then(
        () => null,
        (e: unknown) => e,
      )
    expect(error).toBeInstanceOf(LlmError)
    expect(performance.now() - started).toBeLessThan(500)
  })
})

describe('offline provider: simulated failures', () => {
  test('the named agent’s calls throw LlmError with the configured message; others succeed', async () => {
    const llm = createOfflineProvider({ latencyMs: 0, failures: { skeptic: 'rate limited' } })
    const error = await llm.complete({ model: 'offline-small', messages: draftPrompt(skeptic, QUESTION) }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LlmError)
    expect((error as LlmError).message).toContain('rate limited')
    const ok = await llm.complete({ model: 'offline-small', messages: draftPrompt(analyst, QUESTION) })
    expect(ok.content).toContain('**Analyst**')

    // Every kind of call by the failing agent fails, reviews included.
    const review = await llm
      .complete({ model: 'offline-small', messages: reviewPrompt(skeptic, QUESTION, [{ label: 'A', content: ok.content }]) })
      .then(
        () => null,
        (e: unknown) => e,
      )
    expect(review).toBeInstanceOf(LlmError)
  })
})
