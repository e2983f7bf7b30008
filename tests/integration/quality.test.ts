/**
 * GET /api/admin/quality and /admin/quality through the app, on the run's
 * dialect: two councils seeded as the engine stores them
 * (tests/helpers/quality-seed.ts) give the hand-worked figures exactly; a
 * third, stored 40 days ago, counts in 90d and not in 30d; bad windows are a
 * 422 in the error shape; members are refused, auditors read; a council run
 * by the offline provider feeds the report.
 */
import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { newId } from '../../db/client'
import type { createInlineQueue } from '../../plugins/jobs/inline'
import type { TestApp } from '../helpers/app'
import { COUNCIL_R1, COUNCIL_R2, EXPECTED_R1_R2, type SeedOutput } from '../helpers/quality-seed'
import { expectErrorShape, freshUser, useApp } from './support'

const admin = { user: 'quality-admin@example.com', role: 'admin' }
const auditor = { user: 'quality-auditor@example.com', role: 'auditor' }

async function seedCouncil(t: TestApp, outputs: SeedOutput[]): Promise<string> {
  const runId = newId()
  const base = { runId, sessionId: runId, jobId: newId(), status: 'ok', error: null, model: 'offline-small', tokensIn: 1, tokensOut: 1, costMicroUsd: 0, durationMs: 1 }
  for (const output of outputs) await t.deps.stores.stageOutputs.save({ ...base, ...output })
  await t.deps.stores.stageOutputs.save({ ...base, stage: 'aggregate', agent: '*', content: null, data: { leaderboard: [] }, model: null })
  // A failed draft is not part of the sample.
  await t.deps.stores.stageOutputs.save({ ...base, stage: 'draft', agent: 'z', status: 'failed', content: null, data: null, error: 'HTTP 503' })
  return runId
}

/** Moves a council's rows back in time (the store writes "now"; only the test needs the past). */
async function backdate(t: TestApp, runId: string, days: number) {
  const at = new Date(Date.now() - days * 86_400_000)
  const handle = t.deps.db.handle
  if (handle.dialect === 'pg') await handle.orm.update(handle.t.stageOutputs).set({ createdAt: at }).where(eq(handle.t.stageOutputs.runId, runId))
  else await handle.orm.update(handle.t.stageOutputs).set({ createdAt: at }).where(eq(handle.t.stageOutputs.runId, runId))
}

describe('council quality across seeded councils', () => {
  const app = useApp()
  let seeded = false
  const seed = async () => {
    if (seeded) return
    seeded = true
    const t = app()
    await seedCouncil(t, COUNCIL_R1)
    await seedCouncil(t, COUNCIL_R2)
    await backdate(t, await seedCouncil(t, COUNCIL_R1), 40)
  }

  test('30d: the two recent councils give the hand-worked figures exactly', async () => {
    await seed()
    const res = await app().json('GET', '/api/admin/quality?window=30d', admin)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ window: '30d', max_councils: 2000, capped: false, ...EXPECTED_R1_R2 })
    expect(Date.parse(res.body.until) - Date.parse(res.body.since)).toBe(30 * 86_400_000)
    for (const measure of ['position_bias', 'length_bias', 'self_preference', 'unparsed_reviews', 'agreement'])
      expect(res.body[measure].reading).toBeString()
  })

  test('the default window is 30d; 90d takes in the council of 40 days ago', async () => {
    await seed()
    const t = app()
    expect((await t.json('GET', '/api/admin/quality', admin)).body).toMatchObject({ window: '30d', councils: 2 })
    const wide = await t.json('GET', '/api/admin/quality?window=90d', auditor)
    expect(wide.status).toBe(200)
    // R1 twice and R2: 3 + 3 + 2 ranked reviews; R1's top picks shown first twice each.
    expect(wide.body).toMatchObject({ window: '90d', councils: 3 })
    expect(wide.body.position_bias).toMatchObject({ councils: 3, reviews: 8, first_shown_wins: 5 })
    expect(wide.body.unparsed_reviews).toMatchObject({ councils: 3, reviews: 9, parsed: 7, partial: 1, unparsed: 1 })
    expect(wide.body.agreement).toMatchObject({ councils: 2, mean_w: 0.444 })
    expect(wide.body.self_preference).toMatchObject({ councils: 2, reviews: 6, mean_difference: -0.5 })
  })

  test('a window that is not 1–365 days is a 422 naming the field', async () => {
    for (const window of ['0d', '366d', '30', 'week', '-7d']) {
      const res = await app().json('GET', `/api/admin/quality?window=${window}`, admin)
      expectErrorShape(expect, res, 422, 'validation_failed')
      expect(res.body.error.message).toContain('"window"')
    }
  })

  test('members are refused; the page renders the charts with a table behind each, and htmx gets the panel', async () => {
    await seed()
    const t = app()
    expect((await t.json('GET', '/api/admin/quality', { user: freshUser('member') })).status).toBe(403)
    expect((await t.call('GET', '/admin/quality', { user: freshUser('member') })).status).toBe(403)
    const page = await t.call('GET', '/admin/quality?window=30d', auditor)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('<h1>Council quality</h1>')
    for (const chart of ['position-chart', 'length-chart', 'self-chart', 'parsing-chart', 'agreement-chart']) {
      expect(html).toContain(`id="${chart}"`)
      expect(html).toContain(`aria-labelledby="${chart}-title ${chart}-desc"`)
    }
    expect(html.match(/<summary>Table view<\/summary>/g)?.length).toBe(5)
    expect(html).toContain('2 councils behind this figure')
    const fragment = await t.call('GET', '/admin/quality?window=90d', { ...auditor, headers: { 'hx-request': 'true' } })
    const text = await fragment.text()
    expect(text).toStartWith('<div id="quality-panel">')
    expect(text).toContain('3 councils from')
  })
})

describe('council quality of a council that ran', () => {
  const app = useApp()

  test('an offline council feeds every measure it can', async () => {
    const t = app()
    const user = freshUser('quality-run')
    const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Is a four-day week a good idea for support?' } })
    expect((await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })).status).toBe(202)
    await (t.deps.queue as ReturnType<typeof createInlineQueue>).idle()
    const res = await t.json('GET', '/api/admin/quality?window=7d', admin)
    expect(res.status).toBe(200)
    // The default palette: three members, each reviewing the two others' drafts.
    expect(res.body.councils).toBe(1)
    expect(res.body.unparsed_reviews).toMatchObject({ councils: 1, reviews: 3 })
    expect(res.body.position_bias.councils).toBe(1)
    expect(res.body.self_preference.councils).toBe(0)
  })
})
