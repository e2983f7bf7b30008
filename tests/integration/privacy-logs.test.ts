/**
 * What docs/PRIVACY_NOTES.md promises about logs, checked end to end on the
 * embedded database: a council's question, drafts, reviews and synthesis reach
 * the provider and the stage outputs, but never the application log, the job
 * log lines or the audit trail; secrets (tokens, cookies) never reach any log.
 */
import { describe, expect, test } from 'bun:test'
import { idle } from './council-support'
import { freshUser, useApp } from './support'

describe('logs and the audit trail hold no content and no secret', () => {
  const app = useApp()

  test('a council’s question and answers are in its results, never in a log line, job log or audit event', async () => {
    const t = app()
    const user = freshUser('private')
    const question = `Zanzibar-${crypto.randomUUID()} should we merge the two payroll teams?`
    const created = (await t.json('POST', '/api/v1/sessions', { user, body: { question } })).body
    const run = (await t.json('POST', `/api/v1/sessions/${created.id}/run`, { user })).body
    await idle(t)
    const results = (await t.json('GET', `/api/v1/sessions/${created.id}/results`, { user })).body
    expect(results.synthesis.content.length).toBeGreaterThan(0)
    const texts = [question, ...results.drafts.map((d: { content: string }) => d.content), ...results.reviews.map((r: { critique: string }) => r.critique), results.synthesis.content]
    // The offline provider quotes the question: it reached the provider, as every prompt does.
    expect(results.drafts.some((d: { content: string }) => d.content.includes('Zanzibar'))).toBe(true)

    const jobLogs = (await t.json('GET', `/api/v1/jobs/${run.job_id}/logs?limit=200`, { user })).body.items
    expect(jobLogs.length).toBeGreaterThan(5)
    const audit = await t.deps.stores.audit.list({ limit: 10_000 })
    const places = { 'application log': JSON.stringify(t.logs), 'job logs': JSON.stringify(jobLogs), 'audit trail': JSON.stringify(audit) }
    for (const [place, text] of Object.entries(places)) {
      expect(text.includes('Zanzibar')).toBe(false)
      for (const content of texts) if (content.length > 40) expect(`${place}: ${text.includes(content.slice(0, 40))}`).toBe(`${place}: false`)
    }
    // The audit event of the question says how long it was, not what it said.
    expect(audit.find((e) => e.action === 'session.create' && e.sessionId === created.id)!.metadata).toEqual({ palette_id: 'default', question_chars: question.length })
  })

  test('tokens and cookies never reach a log line or the audit trail', async () => {
    const t = app()
    const user = freshUser('secret')
    const token = (await t.json('POST', '/api/v1/tokens', { user, body: { name: 'ci' } })).body.token as string
    expect((await t.json('GET', '/api/v1/me', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const login = await t.call('POST', '/auth/dev-login', { body: new URLSearchParams({ email: user }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!
    await t.call('GET', '/api/v1/me', { headers: { cookie } })
    const everything = JSON.stringify(t.logs) + JSON.stringify(await t.deps.stores.audit.list({ limit: 10_000 }))
    expect(everything).not.toContain(token)
    expect(everything).not.toContain(token.slice(6, 30))
    expect(everything).not.toContain(decodeURIComponent(cookie.split('=')[1]!))
  })
})
