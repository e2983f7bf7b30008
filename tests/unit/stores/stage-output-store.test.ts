/**
 * The stage-output store's contract, on libsql and on PostgreSQL (where the
 * root store batches concurrent inserts through unnest): one row per
 * (run, stage, agent); a finished row is never replaced; a failed one gives
 * way to a success.
 */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { NewStageOutput } from '../../../src/council/store'
import { eachDialect } from '../../helpers/databases'

const output = (runId: string, agent: string, fields: Partial<NewStageOutput> = {}): NewStageOutput => ({
  runId,
  sessionId: runId,
  jobId: newId(),
  stage: 'draft',
  agent,
  status: 'ok',
  content: `Draft by ${agent}: «ünïcode» 'quotes' "double"`,
  data: null,
  error: null,
  model: 'offline-small',
  tokensIn: 120,
  tokensOut: 80,
  costMicroUsd: 12_345_678_901,
  durationMs: 42,
  ...fields,
})

const failed = (runId: string, agent: string, error = 'HTTP 503'): NewStageOutput =>
  output(runId, agent, { status: 'failed', content: null, error, tokensIn: 0, tokensOut: 0, costMicroUsd: 0 })

eachDialect('stage-output store', (use) => {
  test('a saved output reads back as returned, with its id and time; a run’s outputs come ordered by agent', async () => {
    const { stores } = use()
    const runId = newId()
    const review = await stores.stageOutputs.save(
      output(runId, 'skeptic', { stage: 'review', data: { label_map: { A: 'analyst' }, ranking: ['analyst'], nested: { n: [1, 'två'] } } }),
    )
    const draft = await stores.stageOutputs.save(output(runId, 'analyst'))
    const aggregate = await stores.stageOutputs.save(output(runId, '*', { stage: 'aggregate', content: null, model: null }))
    expect(draft.id).toBeString()
    expect(draft.createdAt).toBeInstanceOf(Date)
    expect(await stores.stageOutputs.forRun(runId)).toEqual([aggregate, draft, review])
    expect(await stores.stageOutputs.forRun(newId())).toEqual([])
  })

  test('a finished row is never replaced: neither by a failure nor by a second success', async () => {
    const { stores } = use()
    const runId = newId()
    const first = await stores.stageOutputs.save(output(runId, 'analyst'))
    expect(await stores.stageOutputs.save(failed(runId, 'analyst'))).toEqual(first)
    expect(await stores.stageOutputs.save(output(runId, 'analyst', { content: 'another answer' }))).toEqual(first)
    expect(await stores.stageOutputs.forRun(runId)).toEqual([first])
  })

  test('a failed row is replaced by a later failure or success, in place', async () => {
    const { stores } = use()
    const runId = newId()
    await stores.stageOutputs.save(failed(runId, 'analyst', 'first failure'))
    const again = await stores.stageOutputs.save(failed(runId, 'analyst', 'second failure'))
    expect(again.error).toBe('second failure')
    const ok = await stores.stageOutputs.save(output(runId, 'analyst'))
    expect(ok).toMatchObject({ status: 'ok', error: null, tokensIn: 120, costMicroUsd: 12_345_678_901 })
    expect(await stores.stageOutputs.forRun(runId)).toEqual([ok])
  })

  test('the same key for a council stage and an agent run stays apart by run', async () => {
    const { stores } = use()
    const [a, b] = [newId(), newId()]
    await stores.stageOutputs.save(output(a, 'analyst'))
    await stores.stageOutputs.save(output(b, 'analyst', { stage: 'agent', sessionId: null }))
    expect((await stores.stageOutputs.forRun(a)).map((row) => row.stage)).toEqual(['draft'])
    expect((await stores.stageOutputs.forRun(b)).map((row) => [row.stage, row.sessionId])).toEqual([['agent', null]])
  })

  test('many outputs of many runs saved at once (one insert on PostgreSQL) are each stored once and read back per run', async () => {
    const { stores } = use()
    const runs = Array.from({ length: 12 }, () => newId())
    const agents = ['analyst', 'pragmatist', 'skeptic']
    const saved = await Promise.all(runs.flatMap((runId, r) => agents.map((agent) => stores.stageOutputs.save(output(runId, agent, { tokensIn: r })))))
    const read = await Promise.all(runs.map((runId) => stores.stageOutputs.forRun(runId)))
    read.forEach((rows, r) => {
      expect(rows.map((row) => row.agent)).toEqual(agents)
      expect(rows.every((row) => row.tokensIn === r && row.runId === runs[r])).toBe(true)
    })
    expect(read.flat().sort((x, y) => x.id.localeCompare(y.id))).toEqual(saved.sort((x, y) => x.id.localeCompare(y.id)))
  })

  test('a success and failures of the same key at once leave exactly one row, the success', async () => {
    const { stores } = use()
    for (let round = 0; round < 5; round++) {
      const runId = newId()
      const success = output(runId, 'analyst')
      const racers = round % 2 ? [failed(runId, 'analyst'), success, failed(runId, 'analyst')] : [success, failed(runId, 'analyst'), failed(runId, 'analyst')]
      const results = await Promise.all(racers.map((row) => stores.stageOutputs.save(row)))
      const rows = await stores.stageOutputs.forRun(runId)
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ status: 'ok', content: success.content })
      // The success's caller gets the stored row.
      expect(results[racers.indexOf(success)]).toEqual(rows[0]!)
    }
  })

  test('two successes of the same key at once leave one row, and both callers get it', async () => {
    const { stores } = use()
    const runId = newId()
    const [a, b] = await Promise.all([
      stores.stageOutputs.save(output(runId, 'analyst', { content: 'one' })),
      stores.stageOutputs.save(output(runId, 'analyst', { content: 'two' })),
    ])
    const rows = await stores.stageOutputs.forRun(runId)
    expect(rows).toHaveLength(1)
    expect(a).toEqual(rows[0]!)
    expect(b).toEqual(rows[0]!)
  })

  test('a save inside a transaction that throws is rolled back', async () => {
    const { stores } = use()
    const runId = newId()
    await expect(
      stores.transaction(async (tx) => {
        await tx.stageOutputs.save(output(runId, 'analyst'))
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.stageOutputs.forRun(runId)).toEqual([])
  })

  test('removeForRun erases one run’s outputs and says how many', async () => {
    const { stores } = use()
    const runId = newId()
    const other = newId()
    await stores.stageOutputs.save(output(runId, 'analyst'))
    await stores.stageOutputs.save(output(runId, '*', { stage: 'search', content: null }))
    await stores.stageOutputs.save(output(other, 'analyst'))
    expect(await stores.stageOutputs.removeForRun(runId)).toBe(2)
    expect(await stores.stageOutputs.forRun(runId)).toEqual([])
    expect(await stores.stageOutputs.forRun(other)).toHaveLength(1)
    expect(await stores.stageOutputs.removeForRun(runId)).toBe(0)
  })

  test('the quality sample: drafts (with their length) and reviews of councils whose aggregate is in the window, newest councils first, successes only', async () => {
    const { stores } = use()
    const council = async (drafts: number) => {
      const runId = newId()
      await stores.stageOutputs.save(output(runId, 'analyst', { content: 'x'.repeat(drafts) }))
      await stores.stageOutputs.save(failed(runId, 'skeptic'))
      await stores.stageOutputs.save(output(runId, 'skeptic', { stage: 'review', content: 'FINAL RANKING: 1. Response A', data: { label_map: { A: 'analyst' }, parse_status: 'parsed' } }))
      await stores.stageOutputs.save(output(runId, 'chair', { stage: 'synthesis' }))
      await Bun.sleep(5)
      await stores.stageOutputs.save(output(runId, '*', { stage: 'aggregate', content: null, data: { leaderboard: [] } }))
      return runId
    }
    const since = new Date(Date.now() - 1000)
    const older = await council(7)
    const newer = await council(11)
    // Reviews and drafts without an aggregate yet are not a council to judge.
    const unfinished = newId()
    await stores.stageOutputs.save(output(unfinished, 'analyst'))
    const until = new Date(Date.now() + 1000)
    const sample = (await stores.stageOutputs.qualitySample(since, until, 1000)).filter((row) => row.runId === older || row.runId === newer || row.runId === unfinished)
    const rowsOf = (runId: string, chars: number) => [
      { runId, stage: 'draft', agent: 'analyst', chars, data: null },
      { runId, stage: 'review', agent: 'skeptic', chars: 'FINAL RANKING: 1. Response A'.length, data: { label_map: { A: 'analyst' }, parse_status: 'parsed' } },
    ]
    expect(sample.sort((a, b) => a.runId.localeCompare(b.runId) || a.stage.localeCompare(b.stage))).toEqual(
      [...rowsOf(older, 7), ...rowsOf(newer, 11)].sort((a, b) => a.runId.localeCompare(b.runId) || a.stage.localeCompare(b.stage)),
    )
    // At most maxCouncils, the newest; nothing outside the window.
    expect(new Set((await stores.stageOutputs.qualitySample(since, until, 1)).map((row) => row.runId))).toEqual(new Set([newer]))
    expect(await stores.stageOutputs.qualitySample(new Date(0), since, 1000).then((rows) => rows.filter((row) => row.runId === older))).toEqual([])
  })
})
