/**
 * Export (SPEC §4 GET /api/v1/me/export, GET /api/admin/users/:id/export), on
 * libsql and PostgreSQL: one JSON document, streamed, with every session of the
 * person (deleted ones too) and its results, and every other record naming
 * them — never another person's, never a secret — audited as export.self / export.user.
 */
import { describe, expect, test } from 'bun:test'
import type { TestApp } from '../helpers/app'
import { idle } from './council-support'
import { expectErrorShape, freshUser, useApp, DIALECT } from './support'

/** Reads the body chunk by chunk, as a client of a stream would. */
async function readStreamed(res: Response): Promise<{ text: string; chunks: number }> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let chunks = 0
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    chunks += 1
    text += decoder.decode(next.value, { stream: true })
  }
  return { text, chunks }
}

async function person(t: TestApp, email: string) {
  const call = (method: string, path: string, body?: unknown) => t.json(method, path, { user: email, body })
  const ran = (await call('POST', '/api/v1/sessions', { question: `A question from ${email}` })).body
  await call('POST', `/api/v1/sessions/${ran.id}/run`)
  await idle(t)
  const gone = (await call('POST', '/api/v1/sessions', { question: 'Deleted later' })).body
  expect((await t.call('DELETE', `/api/v1/sessions/${gone.id}`, { user: email })).status).toBe(204)
  const token = (await call('POST', '/api/v1/tokens', { name: 'export script' })).body
  const ticket = (await call('POST', '/api/v1/tickets', { title: 'Dark mode', body: 'Please', kind: 'feature' })).body
  const me = (await call('GET', '/api/v1/me')).body
  return { userId: me.id as string, ran: ran.id as string, gone: gone.id as string, token: token.token as string, ticket: ticket.id as string }
}

describe(`export (${DIALECT === 'pg' ? 'PostgreSQL' : 'libsql'})`, () => {
    const app = useApp()

    test('GET /api/v1/me/export streams all of the caller’s data and nobody else’s', async () => {
      const t = app()
      const [ann, bob] = [freshUser('ann'), freshUser('bob')]
      const mine = await person(t, ann)
      const theirs = await person(t, bob)

      const res = await t.call('GET', '/api/v1/me/export', { user: ann })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="council-export-\d{4}-\d{2}-\d{2}\.json"$/)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('x-request-id')).toBeTruthy()
      const { text, chunks } = await readStreamed(res)
      // Written piece by piece: header, each session, each table of records.
      expect(chunks).toBeGreaterThan(4)
      const doc = JSON.parse(text)
      expect(doc.format).toBe('agent-council-export/1')
      expect(doc.user).toMatchObject({ id: mine.userId, email: ann })

      expect(doc.sessions.map((s: { id: string }) => s.id).sort()).toEqual([mine.ran, mine.gone].sort())
      const ran = doc.sessions.find((s: { id: string }) => s.id === mine.ran)
      expect(ran.status).toBe('succeeded')
      expect(ran.results.drafts.length).toBeGreaterThanOrEqual(2)
      expect(ran.results.drafts[0].content.length).toBeGreaterThan(0)
      expect(ran.results.reviews.length).toBeGreaterThanOrEqual(2)
      expect(ran.results.leaderboard.length).toBeGreaterThanOrEqual(2)
      expect(ran.results.synthesis.content.length).toBeGreaterThan(0)
      expect(ran.documents).toEqual([])
      const gone = doc.sessions.find((s: { id: string }) => s.id === mine.gone)
      expect(gone.deleted_at).toBeTruthy()
      expect(gone.results).toBeNull()

      expect(doc.records.tickets.map((row: { id: string }) => row.id)).toEqual([mine.ticket])
      expect(doc.records.access_tokens).toHaveLength(1)
      expect(doc.records.access_tokens[0]).not.toHaveProperty('token_hash')
      expect(doc.records.jobs.length).toBeGreaterThanOrEqual(1)
      expect(text).not.toContain(mine.token)
      for (const other of [bob, theirs.userId, theirs.ran, theirs.ticket]) expect(text).not.toContain(other)

      const events = (await t.json('GET', `/api/admin/audit?action=export.self&target=user:${mine.userId}`, { user: freshUser('auditor'), role: 'auditor' })).body.items
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({ actor: ann, actor_id: mine.userId })
    }, 20_000)

    test('pages through many sessions', async () => {
      const t = app()
      const many = freshUser('many')
      const ids: string[] = []
      for (let i = 0; i < 105; i++) ids.push((await t.json('POST', '/api/v1/sessions', { user: many, body: { question: `Question ${i}` } })).body.id)
      // The requests above are this person's usage: written now, not whenever the recorder's
      // next flush happens to fall (a flush during the loop used to make this test flaky).
      await t.deps.usage?.flush()
      const doc = JSON.parse(await (await t.call('GET', '/api/v1/me/export', { user: many })).text())
      expect(doc.sessions.map((s: { id: string }) => s.id)).toEqual(ids)
      const { usage_users: usageUsers, usage_user_days: usageDays, ...rest } = doc.records
      expect(rest).toEqual({})
      expect(usageUsers).toEqual([expect.objectContaining({ user_id: doc.user.id })])
      expect(usageDays).toEqual([expect.objectContaining({ user_id: doc.user.id, events: expect.any(Number) })])
    }, 30_000)

    test('GET /api/admin/users/:id/export: admins only, audited, the same document', async () => {
      const t = app()
      const ann = freshUser('ann')
      const mine = await person(t, ann)
      const admin = freshUser('admin')
      const res = await t.call('GET', `/api/admin/users/${mine.userId}/export`, { user: admin, role: 'admin' })
      expect(res.status).toBe(200)
      const doc = JSON.parse(await res.text())
      expect(doc.user.email).toBe(ann)
      expect(doc.sessions).toHaveLength(2)
      const events = (await t.json('GET', `/api/admin/audit?action=export.user`, { user: admin, role: 'admin' })).body.items
      expect(events.some((e: { target: string; actor: string }) => e.target === `user:${mine.userId}` && e.actor === admin)).toBe(true)

      expectErrorShape(expect, await t.json('GET', `/api/admin/users/${mine.userId}/export`, { user: freshUser('member') }), 403)
      expectErrorShape(expect, await t.json('GET', `/api/admin/users/${mine.userId}/export`, { user: freshUser('auditor'), role: 'auditor' }), 403)
      expectErrorShape(expect, await t.json('GET', '/api/admin/users/0190a0b0-0000-7000-8000-000000000000/export', { user: admin, role: 'admin' }), 404)
      expectErrorShape(expect, await t.json('GET', '/api/v1/me/export'), 401)
    })

    test('/me links to the export', async () => {
      const page = await (await app().call('GET', '/me', { user: freshUser('page') })).text()
      expect(page).toContain('href="/api/v1/me/export"')
      expect(page).toContain('Export my data')
    })
  })
