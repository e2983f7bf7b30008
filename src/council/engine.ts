/**
 * The council: draft → review → aggregate → synthesize (SPEC §1, §5).
 * Each LLM call's output is written to stage_outputs as soon as it returns, and
 * a stage starts only when the previous one is on disk; a resumed job reloads
 * what is there and calls only the agents that have no finished output, so a
 * retried or restarted job never duplicates a draft.
 */
import type { AgentRow, PaletteRow, StageOutputRow } from '../../db/schema'
import type { Config } from '../config'
import { modelFor } from '../llm'
import { costMicroUsd } from '../llm/pricing'
import { LlmError, type ChatMessage, type LlmProvider } from '../llm/types'
import { aggregateRankings, seededShuffle, type LeaderboardEntry } from './aggregate'
import { agentPrompt, draftPrompt, reviewPrompt, synthesisPrompt, type AgentProfile } from './prompts'
import { parseRanking } from './ranking'
import { citationsOf, gatherSources, hasSources, withSources, type SearchWeb } from './sources'
import type { CouncilStore } from './store'

/** `sources` (waiting for documents, the web search) runs only for a session with documents or web search. */
export type Stage = 'sources' | 'draft' | 'review' | 'aggregate' | 'synthesis'
/** What an LLM call is stored under: a council stage, or "agent" for a direct call through the agent proxy. */
export type CallStage = Stage | 'agent'

type OutputRow = StageOutputRow

/** A failure that retrying cannot fix (deleted session, unknown palette). */
export class PermanentCouncilError extends Error {
  override name = 'PermanentCouncilError'
}

/** A failure that a later attempt may not repeat (providers down, quorum missed on retryable errors). */
export class CouncilError extends Error {
  override name = 'CouncilError'
}

interface JobLogger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/**
 * Who is calling and what to report to: the hooks see every LLM call before it
 * starts (they may throw to stop it: budgets) and after it succeeds. The signal
 * is the job's one cancellation signal; when it aborts, the call path throws
 * its reason, which says why (cancelled, or the runner stopping).
 */
interface CallHooks<S extends CallStage> {
  jobId: string
  signal: AbortSignal
  log: JobLogger
  /** Called before every LLM call with its worst case; may throw to stop the council (budgets). */
  beforeCall?(call: { stage: S; agent: string; model: string; maxTokens: number }): Promise<void>
  /** Called after every LLM call with what it cost. */
  afterCall?(call: { stage: S; agent: string; model: string; tokensIn: number; tokensOut: number; costMicroUsd: number; durationMs: number }): Promise<void>
  /** Called when an LLM call fails (not when the job was cancelled or stopped), after the failure is stored. */
  callFailed?(call: { stage: S; agent: string; error: string; durationMs: number }): void
  /** Receives a call's text as it is written, when the provider streams; without it the call is not streamed. */
  onDelta?(call: { stage: S; agent: string }, text: string): void
  /** Asked as each call starts: whether its text is worth streaming now (someone follows the job). */
  streamWanted?(): Promise<boolean>
}

export interface CouncilRun extends CallHooks<Stage> {
  sessionId: string
  /** This attempt (1-based) and how many the job has: retryable failures are retried while attempts remain. */
  attempt?: number
  maxAttempts?: number
  /** Called when a stage starts or advances; progress is 0–100. */
  progress(stage: Stage, progress: number): Promise<void>
}

/** A direct call of one agent through the agent proxy, stored under its job. */
export interface AgentCall extends CallHooks<'agent'> {
  agent: string
  input: string
}

export interface CouncilDeps {
  store: CouncilStore
  llm: LlmProvider
  config: Config
  /** The web search of a session that asked for one (the search plugin); none means such a session gets a note instead. */
  search?: SearchWeb
}

export interface CouncilOutcome {
  partial: boolean
  dropped: Array<{ agent: string; stage: Stage; error: string }>
  synthesisBy: string
  tokensIn: number
  tokensOut: number
  costMicroUsd: number
}

const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const CATALOG_TTL_MS = 10_000

const profile = (agent: AgentRow): AgentProfile => ({ name: agent.name, persona: agent.persona })

/**
 * Who dropped out of a council, and why: members whose draft or review failed
 * for good, and the chair if someone else had to write the synthesis. (Members
 * tried as fallback chairs are not "dropped": they had already taken part.)
 */
export function droppedMembers(
  outputs: ReadonlyArray<Pick<OutputRow, 'stage' | 'agent' | 'status' | 'error'>>,
  chair: string,
): Array<{ agent: string; stage: Stage; error: string }> {
  const succeeded = new Set(outputs.filter((o) => o.status === 'ok').map((o) => `${o.stage}:${o.agent}`))
  return outputs
    .filter((o) => o.status === 'failed' && !succeeded.has(`${o.stage}:${o.agent}`))
    .filter((o) => o.stage !== 'synthesis' || o.agent === chair)
    .map((o) => ({ agent: o.agent, stage: o.stage as Stage, error: o.error ?? 'failed' }))
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  })
  await Promise.all(workers)
  return results
}

export function createCouncil({ store, llm, config, search }: CouncilDeps) {
  /**
   * The one LLM call path, for council members and the agent proxy alike: the
   * call is recorded whether it succeeds or fails (model, tokens, cost_usd,
   * duration_ms, as SPEC §5 asks) and stored before it counts. Returns the
   * stored row with the content, or the failure and whether a retry may help.
   */
  const call = async <S extends CallStage>(
    run: CallHooks<S> & { runId: string; sessionId: string | null; remember?: (row: OutputRow) => void },
    stage: S,
    agent: AgentRow,
    messages: ChatMessage[],
    data?: (content: string) => Record<string, unknown>,
  ): Promise<{ row: OutputRow; content: string; data?: Record<string, unknown> } | { error: string; retryable: boolean }> => {
    const model = modelFor(config, agent.model)
    const base = { runId: run.runId, sessionId: run.sessionId, jobId: run.jobId, stage, agent: agent.name }
    // Whether anyone follows the job is asked while the budget is checked, not after it.
    const wanted = run.streamWanted?.()
    wanted?.catch(() => undefined)
    await run.beforeCall?.({ stage, agent: agent.name, model, maxTokens: config.council.maxTokens })
    run.signal.throwIfAborted()
    const started = performance.now()
    try {
      const result = await llm.complete({
        model,
        messages,
        temperature: agent.temperature,
        maxTokens: config.council.maxTokens,
        signal: run.signal,
        onDelta: run.onDelta ? (text) => run.onDelta!({ stage, agent: agent.name }, text) : undefined,
        streamWanted: wanted && (() => wanted),
      })
      const cost = costMicroUsd(config.llm.prices, result.model, result.tokensIn, result.tokensOut)
      const extra = data?.(result.content)
      const stored = await store.saveOutput({
        ...base,
        status: 'ok',
        content: result.content,
        data: extra ?? null,
        error: null,
        model: result.model,
        tokensIn: result.tokensIn,
        tokensOut: result.tokensOut,
        costMicroUsd: cost,
        durationMs: Math.round(performance.now() - started),
      })
      run.remember?.(stored)
      await run.afterCall?.({
        stage,
        agent: agent.name,
        model: result.model,
        tokensIn: result.tokensIn,
        tokensOut: result.tokensOut,
        costMicroUsd: cost,
        durationMs: stored.durationMs,
      })
      run.log.info(stage === 'agent' ? `agent ${agent.name} answered` : `${stage} by ${agent.name} finished`, {
        stage,
        agent: agent.name,
        model: result.model,
        tokens_in: result.tokensIn,
        tokens_out: result.tokensOut,
        duration_ms: Math.round(performance.now() - started),
      })
      return { row: stored, content: result.content, data: extra }
    } catch (error) {
      run.signal.throwIfAborted()
      const message = error instanceof Error ? error.message : String(error)
      const stored = await store.saveOutput({
        ...base,
        status: 'failed',
        content: null,
        data: null,
        error: message,
        model,
        tokensIn: 0,
        tokensOut: 0,
        costMicroUsd: 0,
        durationMs: Math.round(performance.now() - started),
      })
      run.remember?.(stored)
      run.callFailed?.({ stage, agent: agent.name, error: message, durationMs: stored.durationMs })
      run.log.warn(`${stage} by ${agent.name} failed`, { stage, agent: agent.name, error: message })
      return { error: message, retryable: error instanceof LlmError ? error.retryable : true }
    }
  }

  /** Agents and palettes change rarely (an admin edit); a council reads them from a short-lived cache. */
  let catalog: { at: number; agents: Map<string, AgentRow>; palettes: Map<string, PaletteRow> } | null = null
  const loadCatalog = async () => {
    if (catalog && Date.now() - catalog.at < CATALOG_TTL_MS) return catalog
    const { agents, palettes } = await store.catalog()
    catalog = {
      at: Date.now(),
      agents: new Map(agents.map((agent) => [agent.name, agent])),
      palettes: new Map(palettes.map((palette) => [palette.id, palette])),
    }
    return catalog
  }

  return {
    async run(run: CouncilRun): Promise<CouncilOutcome> {
      const [session, stored, { agents: byName, palettes: paletteById }] = await Promise.all([
        store.liveSession(run.sessionId),
        store.outputs(run.sessionId),
        loadCatalog(),
      ])
      if (!session) throw new PermanentCouncilError('The session no longer exists.')
      const palette = paletteById.get(session.paletteId)
      if (!palette) throw new PermanentCouncilError(`Palette "${session.paletteId}" does not exist.`)
      const members = palette.agentNames.map((name) => byName.get(name)).filter((agent): agent is AgentRow => !!agent)
      if (members.length === 0) throw new PermanentCouncilError(`Palette "${palette.id}" has no agents.`)
      const question = session.question

      // What is on disk, kept current in memory as each call's row is stored.
      const outputs: OutputRow[] = [...stored]
      const remember = (row: OutputRow) => {
        const index = outputs.findIndex((o) => o.stage === row.stage && o.agent === row.agent)
        if (index >= 0) outputs[index] = row
        else outputs.push(row)
      }
      const tracked = { ...run, runId: run.sessionId, remember }
      const done = (stage: Stage, agent: string) => outputs.some((o) => o.stage === stage && o.agent === agent && o.status === 'ok')
      const finished = (stage: Stage) => outputs.filter((o) => o.stage === stage && o.status === 'ok')
      if (outputs.length > 0) run.log.info('resuming from stored outputs', { stored: outputs.filter((o) => o.status === 'ok').length })

      // 0. Sources: wait (bounded) for the session's documents to be read, search the web once; citations are checked against them.
      const sources = await gatherSources({
        store,
        search,
        session,
        outputs,
        save: async (row) => remember(await store.saveOutput(row)),
        jobId: run.jobId,
        signal: run.signal,
        log: run.log,
        started: () => run.progress('sources', 2),
        waitMs: config.uploads.documentsWaitMs,
      })
      const cite = hasSources(sources) ? (content: string) => ({ citations: citationsOf(content, sources) }) : undefined

      // 1. Drafts, in parallel, each stored as it returns.
      await run.progress('draft', 5)
      const toDraft = members.filter((agent) => !done('draft', agent.name))
      let drafted = members.length - toDraft.length
      const draftFailures = new Map<string, { error: string; retryable: boolean }>()
      await mapWithConcurrency(toDraft, config.council.draftConcurrency, async (agent) => {
        const result = await call(tracked, 'draft', agent, withSources(draftPrompt(profile(agent), question), sources), cite)
        if ('error' in result) draftFailures.set(agent.name, result)
        else await run.progress('draft', 5 + Math.round((35 * ++drafted) / members.length))
      })
      const drafts = finished('draft')
      const quorum = Math.min(config.council.quorum, members.length)
      const reasons = () => [...draftFailures].map(([agent, failure]) => `${agent}: ${failure.error}`).join('; ')
      if (drafts.length < quorum) {
        const message = `Quorum not met: ${drafts.length} of ${members.length} drafts succeeded, ${quorum} needed. ${reasons()}`
        if ([...draftFailures.values()].every((failure) => !failure.retryable)) throw new PermanentCouncilError(message)
        throw new CouncilError(message)
      }
      // A member lost to a passing failure is worth another attempt; only the last attempt settles for a partial council.
      const attemptsLeft = (run.attempt ?? 1) < (run.maxAttempts ?? 1)
      if (attemptsLeft && [...draftFailures.values()].some((failure) => failure.retryable))
        throw new CouncilError(`Some drafts failed and will be retried: ${reasons()}`)

      // 2. Reviews: each drafter ranks the others' drafts under labels shuffled for it alone.
      await run.progress('review', 40)
      const drafters = drafts.map((draft) => byName.get(draft.agent)!).filter(Boolean)
      const toReview = drafters.filter((agent) => !done('review', agent.name))
      let reviewed = drafters.length - toReview.length
      const reviewFailures: string[] = []
      await mapWithConcurrency(toReview, config.council.draftConcurrency, async (reviewer) => {
        const candidates = drafts.filter((draft) => !(config.council.reviewExcludeSelf && draft.agent === reviewer.name))
        if (candidates.length === 0) return
        const order = seededShuffle(candidates, `${run.sessionId}:${reviewer.name}`)
        const labelMap = Object.fromEntries(order.map((draft, i) => [LABELS[i]!, draft.agent]))
        const responses = order.map((draft, i) => ({ label: LABELS[i]!, content: draft.content ?? '' }))
        const result = await call(tracked, 'review', reviewer, reviewPrompt(profile(reviewer), question, responses), (content) => {
          const parsed = parseRanking(content, Object.keys(labelMap))
          return {
            label_map: labelMap,
            ranking_labels: parsed.ranking,
            ranking: parsed.ranking.map((label) => labelMap[label]!),
            parse_status: parsed.status,
            problems: parsed.problems,
          }
        })
        if ('error' in result && result.retryable) reviewFailures.push(`${reviewer.name}: ${result.error}`)
        await run.progress('review', 40 + Math.round((40 * ++reviewed) / drafters.length))
      })
      if (attemptsLeft && reviewFailures.length > 0)
        throw new CouncilError(`Some reviews failed and will be retried: ${reviewFailures.join('; ')}`)

      // 3. Aggregate: deterministic, so recomputing it on resume gives the same leaderboard.
      // It takes no LLM call, so it is reported as the start of the synthesis stage rather than a stage of its own.
      run.log.info('stage aggregate started', { stage: 'aggregate' })
      const reviews = finished('review')
      const counted = reviews.filter((review) => review.data && review.data.parse_status !== 'unparsed')
      const leaderboard: LeaderboardEntry[] = aggregateRankings(
        counted.map((review) => ({ reviewer: review.agent, ranking: (review.data?.ranking as string[]) ?? [] })),
        drafts.map((draft) => draft.agent),
      )
      if (!done('aggregate', '*'))
        remember(await store.saveOutput({
          runId: run.sessionId,
          sessionId: run.sessionId,
          jobId: run.jobId,
          stage: 'aggregate',
          agent: '*',
          status: 'ok',
          content: null,
          data: { leaderboard, reviews_counted: counted.length, reviews_unparsed: reviews.length - counted.length },
          error: null,
          model: null,
          tokensIn: 0,
          tokensOut: 0,
          costMicroUsd: 0,
          durationMs: 0,
        }))

      // 4. Synthesis by the chair; if the chair fails, the best-placed member chairs instead.
      await run.progress('synthesis', 88)
      let synthesis = finished('synthesis')[0]
      if (!synthesis) {
        const chairs = [byName.get(palette.chair), ...leaderboard.map((entry) => byName.get(entry.agent))].filter(
          (agent, i, all): agent is AgentRow => !!agent && all.indexOf(agent) === i,
        )
        const failures: string[] = []
        for (const chair of chairs) {
          const result = await call(
            tracked,
            'synthesis',
            chair,
            withSources(
              synthesisPrompt(
                profile(chair),
                question,
                drafts.map((draft) => ({ agent: draft.agent, content: draft.content ?? '' })),
                reviews.map((review) => ({ reviewer: review.agent, content: review.content ?? '' })),
                leaderboard,
              ),
              sources,
            ),
            cite,
          )
          if (!('error' in result)) break
          failures.push(`${chair.name}: ${result.error}`)
        }
        synthesis = finished('synthesis')[0]
        if (!synthesis) throw new CouncilError(`No agent could write the synthesis. ${failures.join('; ')}`)
      }

      const dropped = droppedMembers(outputs, palette.chair)
      const totals = outputs.reduce(
        (sum, o) => ({
          tokensIn: sum.tokensIn + o.tokensIn,
          tokensOut: sum.tokensOut + o.tokensOut,
          costMicroUsd: sum.costMicroUsd + o.costMicroUsd,
        }),
        { tokensIn: 0, tokensOut: 0, costMicroUsd: 0 },
      )
      return { partial: dropped.length > 0, dropped, synthesisBy: synthesis.agent, ...totals }
    },

    /**
     * One agent answers one input (the agent proxy), through the same call path
     * as a council member, stored under its job as stage "agent". A retried job
     * whose answer is already stored returns it without calling again.
     */
    async callAgent(run: AgentCall): Promise<OutputRow> {
      const [{ agents: byName }, stored] = await Promise.all([loadCatalog(), store.outputs(run.jobId)])
      const agent = byName.get(run.agent)
      if (!agent) throw new PermanentCouncilError(`Agent "${run.agent}" no longer exists.`)
      const answered = stored.find((row) => row.stage === 'agent' && row.agent === agent.name && row.status === 'ok')
      if (answered) return answered
      run.log.info(`calling agent ${agent.name}`, { agent: agent.name, model: modelFor(config, agent.model) })
      const result = await call({ ...run, runId: run.jobId, sessionId: null }, 'agent', agent, agentPrompt(profile(agent), run.input))
      if ('error' in result) throw result.retryable ? new CouncilError(result.error) : new PermanentCouncilError(result.error)
      return result.row
    },
  }
}

export type Council = ReturnType<typeof createCouncil>
