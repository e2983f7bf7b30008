/**
 * The council: draft → review → aggregate → synthesize (SPEC §1, §5).
 * Each LLM call's output is written to stage_outputs as soon as it returns, and
 * a stage starts only when the previous one is on disk; a resumed job reloads
 * what is there and calls only the agents that have no finished output, so a
 * retried or restarted job never duplicates a draft.
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm'
import { executePg, newId, type Database } from '../../db/client'
import { createCoalescer } from '../../db/coalesce'
import type { Config } from '../config'
import { modelFor } from '../llm'
import { costMicroUsd } from '../llm/pricing'
import { LlmError, type ChatMessage, type LlmProvider } from '../llm/types'
import { aggregateRankings, seededShuffle, type LeaderboardEntry } from './aggregate'
import { draftPrompt, reviewPrompt, synthesisPrompt, type AgentProfile } from './prompts'
import { parseRanking } from './ranking'

export type Stage = 'draft' | 'review' | 'aggregate' | 'synthesis'

type OutputRow = typeof import('../../db/schema/sqlite').stageOutputs.$inferSelect
type AgentRow = typeof import('../../db/schema/sqlite').agents.$inferSelect
type SessionRow = typeof import('../../db/schema/sqlite').sessions.$inferSelect

/** A failure that retrying cannot fix (deleted session, unknown palette). */
export class PermanentCouncilError extends Error {
  override name = 'PermanentCouncilError'
}

/** A failure that a later attempt may not repeat (providers down, quorum missed on retryable errors). */
export class CouncilError extends Error {
  override name = 'CouncilError'
}

export interface JobLogger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

export interface CouncilRun {
  jobId: string
  sessionId: string
  signal: AbortSignal
  /** This attempt (1-based) and how many the job has: retryable failures are retried while attempts remain. */
  attempt?: number
  maxAttempts?: number
  log: JobLogger
  /** Called when a stage starts or advances; progress is 0–100. */
  progress(stage: Stage, progress: number): Promise<void>
  /** Called before every LLM call with its worst case; may throw to stop the council (budgets). */
  beforeCall?(call: { stage: Stage; agent: string; model: string; maxTokens: number }): Promise<void>
  /** Called after every LLM call with what it cost. */
  afterCall?(call: { stage: Stage; agent: string; tokensIn: number; tokensOut: number; costMicroUsd: number }): Promise<void>
}

export interface CouncilDeps {
  db: Database
  llm: LlmProvider
  config: Config
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

export function createCouncil({ db, llm, config }: CouncilDeps) {
  const { sessions, palettes, agents, stageOutputs } = db.t

  /**
   * Writes an output once: a finished row is never replaced; a failed one is
   * replaced by a later success. Returns the row as stored.
   */
  const insertOutputs = createCoalescer<OutputRow, boolean>(
    async (rows) => {
      const ids = new Set((await insertOutputRows(rows)).map((row) => row.id))
      return rows.map((row) => ids.has(row.id))
    },
    { maxBatch: 500 },
  )
  /**
   * On PostgreSQL a batch goes in as one array per column through unnest
   * (17 parameters however many rows; a 250-row drizzle insert took
   * milliseconds of the event loop to build). Conflicting rows are skipped and
   * only the inserted ids come back, as with onConflictDoNothing().returning().
   */
  const insertOutputRows = async (rows: OutputRow[]): Promise<Array<{ id: string }>> => {
    if (db.dialect !== 'pg')
      return db.orm.insert(stageOutputs).values(rows).onConflictDoNothing().returning({ id: stageOutputs.id })
    const column = <T>(pick: (row: OutputRow) => T) => sql.param(rows.map(pick))
    return executePg<{ id: string }>(db, sql`
      insert into stage_outputs (id, run_id, session_id, job_id, stage, agent, status, content, data, error, model,
        tokens_in, tokens_out, cost_micro_usd, duration_ms, created_at)
      select * from unnest(
        ${column((r) => r.id)}::text[], ${column((r) => r.runId)}::text[], ${column((r) => r.sessionId)}::text[],
        ${column((r) => r.jobId)}::text[], ${column((r) => r.stage)}::text[], ${column((r) => r.agent)}::text[],
        ${column((r) => r.status)}::text[], ${column((r) => r.content)}::text[],
        ${column((r) => (r.data ? JSON.stringify(r.data) : null))}::jsonb[], ${column((r) => r.error)}::text[],
        ${column((r) => r.model)}::text[], ${column((r) => r.tokensIn)}::int[], ${column((r) => r.tokensOut)}::int[],
        ${column((r) => r.costMicroUsd)}::bigint[], ${column((r) => r.durationMs)}::int[],
        ${column((r) => r.createdAt.toISOString())}::timestamptz[]
      )
      on conflict do nothing
      returning id`)
  }

  const loadSessions = createCoalescer<string, SessionRow | undefined>(async (ids) => {
    const rows = await db.orm.select().from(sessions).where(inArray(sessions.id, ids))
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id))
  })
  const loadStoredOutputs = createCoalescer<string, OutputRow[]>(async (runIds) => {
    const rows = await db.orm.select().from(stageOutputs).where(inArray(stageOutputs.runId, runIds))
    return runIds.map((runId) => rows.filter((row) => row.runId === runId))
  })

  const saveOutput = async (row: Omit<OutputRow, 'id' | 'createdAt'>): Promise<OutputRow> => {
    const full: OutputRow = { ...row, id: newId(), createdAt: new Date() }
    if (await insertOutputs.add(full)) return full
    const key = and(eq(stageOutputs.runId, row.runId), eq(stageOutputs.stage, row.stage), eq(stageOutputs.agent, row.agent))
    const [updated] = await db.orm
      .update(stageOutputs)
      .set({ ...row, createdAt: full.createdAt })
      .where(and(key, ne(stageOutputs.status, 'ok')))
      .returning()
    return updated ?? (await db.orm.select().from(stageOutputs).where(key).limit(1))[0]!
  }

  /** One LLM call, recorded whether it succeeds or fails. Returns the content, or null on failure. */
  const call = async (
    run: CouncilRun & { remember: (row: OutputRow) => void },
    stage: Stage,
    agent: AgentRow,
    messages: ChatMessage[],
    data?: (content: string) => Record<string, unknown>,
  ): Promise<{ content: string; data?: Record<string, unknown> } | { error: string; retryable: boolean }> => {
    const model = modelFor(config, agent.model)
    const base = { runId: run.sessionId, sessionId: run.sessionId, jobId: run.jobId, stage, agent: agent.name }
    await run.beforeCall?.({ stage, agent: agent.name, model, maxTokens: config.council.maxTokens })
    if (run.signal.aborted) throw new CouncilError('cancelled')
    const started = performance.now()
    try {
      const result = await llm.complete({
        model,
        messages,
        temperature: agent.temperature,
        maxTokens: config.council.maxTokens,
        signal: run.signal,
      })
      const cost = costMicroUsd(config.llm.prices, result.model, result.tokensIn, result.tokensOut)
      const extra = data?.(result.content)
      const stored = await saveOutput({
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
      run.remember(stored)
      await run.afterCall?.({ stage, agent: agent.name, tokensIn: result.tokensIn, tokensOut: result.tokensOut, costMicroUsd: cost })
      run.log.info(`${stage} by ${agent.name} finished`, {
        stage,
        agent: agent.name,
        model: result.model,
        tokens_in: result.tokensIn,
        tokens_out: result.tokensOut,
        duration_ms: Math.round(performance.now() - started),
      })
      return { content: result.content, data: extra }
    } catch (error) {
      if (run.signal.aborted) throw new CouncilError('cancelled')
      const message = error instanceof Error ? error.message : String(error)
      const stored = await saveOutput({
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
      run.remember(stored)
      run.log.warn(`${stage} by ${agent.name} failed`, { stage, agent: agent.name, error: message })
      return { error: message, retryable: error instanceof LlmError ? error.retryable : true }
    }
  }

  /** Agents and palettes change rarely (an admin edit); a council reads them from a short-lived cache. */
  let catalog: { at: number; agents: Map<string, AgentRow>; palettes: Map<string, typeof palettes.$inferSelect> } | null = null
  const loadCatalog = async () => {
    if (catalog && Date.now() - catalog.at < CATALOG_TTL_MS) return catalog
    const [agentRows, paletteRows] = await Promise.all([db.orm.select().from(agents), db.orm.select().from(palettes)])
    catalog = {
      at: Date.now(),
      agents: new Map(agentRows.map((agent) => [agent.name, agent])),
      palettes: new Map(paletteRows.map((palette) => [palette.id, palette])),
    }
    return catalog
  }

  return {
    async run(run: CouncilRun): Promise<CouncilOutcome> {
      const [session, stored, { agents: byName, palettes: paletteById }] = await Promise.all([
        loadSessions.add(run.sessionId),
        loadStoredOutputs.add(run.sessionId),
        loadCatalog(),
      ])
      if (!session || session.deletedAt) throw new PermanentCouncilError('The session no longer exists.')
      const palette = paletteById.get(session.paletteId)
      if (!palette) throw new PermanentCouncilError(`Palette "${session.paletteId}" does not exist.`)
      const members = palette.agentNames.map((name) => byName.get(name)).filter((agent): agent is AgentRow => !!agent)
      if (members.length === 0) throw new PermanentCouncilError(`Palette "${palette.id}" has no agents.`)
      const profile = (agent: AgentRow): AgentProfile => ({ name: agent.name, persona: agent.persona })
      const question = session.question

      // What is on disk, kept current in memory as each call's row is stored.
      const outputs: OutputRow[] = [...stored]
      const remember = (row: OutputRow) => {
        const index = outputs.findIndex((o) => o.stage === row.stage && o.agent === row.agent)
        if (index >= 0) outputs[index] = row
        else outputs.push(row)
      }
      const tracked = { ...run, remember }
      const done = (stage: Stage, agent: string) => outputs.some((o) => o.stage === stage && o.agent === agent && o.status === 'ok')
      const finished = (stage: Stage) => outputs.filter((o) => o.stage === stage && o.status === 'ok')
      if (outputs.length > 0) run.log.info('resuming from stored outputs', { stored: outputs.filter((o) => o.status === 'ok').length })

      // 1. Drafts, in parallel, each stored as it returns.
      await run.progress('draft', 5)
      const toDraft = members.filter((agent) => !done('draft', agent.name))
      let drafted = members.length - toDraft.length
      const draftFailures = new Map<string, { error: string; retryable: boolean }>()
      await mapWithConcurrency(toDraft, config.council.draftConcurrency, async (agent) => {
        const result = await call(tracked, 'draft', agent, draftPrompt(profile(agent), question))
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
        remember(await saveOutput({
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
            synthesisPrompt(
              profile(chair),
              question,
              drafts.map((draft) => ({ agent: draft.agent, content: draft.content ?? '' })),
              reviews.map((review) => ({ reviewer: review.agent, content: review.content ?? '' })),
              leaderboard,
            ),
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
  }
}

export type Council = ReturnType<typeof createCouncil>
