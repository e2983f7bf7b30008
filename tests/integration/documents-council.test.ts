/**
 * Documents in a council on the in-process runner, on libsql and PostgreSQL:
 * a PDF and a DOCX made by the test are read by extraction jobs (status,
 * pages, "page N of M" job log lines); the council run waits for them and
 * then drafts; their snippets are cited in every draft and in the synthesis as
 * [doc:N p.P] and verified; the citations link to the cited page's text (owner
 * only); a document that cannot be read does not block the council and is
 * named, with its reason, in the results and on the page; a citation that
 * does not check out is flagged, not shown as verified.
 */
import { describe, expect, test } from 'bun:test'
import { createOfflineProvider } from '../../src/llm/offline'
import type { LlmProvider } from '../../src/llm/types'
import { makeDocx, makePdf } from '../helpers/documents'
import { documentRows, documentsSettled, settled, storedKeys, uploadForm } from '../helpers/uploads'
import { idle } from './council-support'
import { buildTestApp } from '../helpers/app'
import { expectErrorShape, freshUser, useApp, DIALECT } from './support'

const QUESTION = 'What drove revenue growth in the third quarter?'
const REPORT_PAGES = [
  'Quarterly report for the board. Revenue growth reached twelve percent in the third quarter, driven by the new pricing plans.',
  'Hiring slowed in the second half. The roadmap for next year focuses on reliability.',
]
const MINUTES = ['Board minutes of October.', 'The board noted that third quarter revenue growth came mostly from enterprise customers in Europe.']

async function upload(t: ReturnType<ReturnType<typeof useApp>>, user: string, extra: Array<{ name: string; bytes: Uint8Array }> = []) {
  const created = await t.json('POST', '/api/v1/sessions', {
    user,
    body: uploadForm({ question: QUESTION }, [
      { name: 'q3-report.pdf', bytes: await makePdf(REPORT_PAGES) },
      { name: 'board-minutes.docx', bytes: makeDocx(MINUTES) },
      ...extra,
    ]),
  })
  expect(created.status).toBe(201)
  return created.body
}

describe(`documents in a council (${DIALECT})`, () => {
    const app = useApp()

    test('the worker reads a PDF and a DOCX; the council cites both, verified, in every draft and in the synthesis', async () => {
      const t = app()
      const user = freshUser()
      const session = await upload(t, user)
      // Run at once: the council waits for its documents.
      const run = await t.json('POST', `/api/v1/sessions/${session.id}/run`, { user })
      expect(run.status).toBe(202)
      await idle(t)

      const documents = await documentsSettled(t, user, session.id)
      expect(documents.map((d) => [d.filename, d.status, d.pages, d.pages_done])).toEqual([
        ['q3-report.pdf', 'extracted', 2, 2],
        ['board-minutes.docx', 'extracted', 1, 1],
      ])
      expect(documents[0].chars).toBeGreaterThan(100)

      const job = await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, { user })
      expect(job.body.status).toBe('succeeded')
      const results = (await t.json('GET', `/api/v1/sessions/${session.id}/results`, { user })).body
      expect(results.source_notes).toEqual([])
      const citing = new Set([...results.drafts.map((d: any) => `draft:${d.agent}`), `synthesis:${results.synthesis.agent}`])
      expect(citing.size).toBe(4)
      for (const who of citing) {
        const [stage, agent] = who.split(':')
        const own = results.citations.filter((c: any) => c.stage === stage && c.cited_by === agent)
        expect(own.map((c: any) => [c.label, c.filename, c.page, c.verified])).toEqual([
          ['[doc:1 p.1]', 'q3-report.pdf', 1, true],
          ['[doc:2 p.1]', 'board-minutes.docx', 1, true],
        ])
      }
      const [pdfCitation] = results.citations
      expect(pdfCitation.document_id).toBe(documents[0].id)
      expect(pdfCitation.snippet).toContain('Revenue growth reached twelve percent')
      expect(results.synthesis.content).toContain('[doc:1 p.1]')
      expect(results.synthesis.content).toContain('[doc:2 p.1]')

      // The cited page opens as text, for the owner only.
      const href = `/sessions/${session.id}/documents/${documents[0].id}/pages/1`
      const page = await t.call('GET', href, { user })
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Revenue growth reached twelve percent in the third quarter')
      expect((await t.call('GET', href, { user: freshUser('stranger') })).status).toBe(404)
      expect((await t.call('GET', `/sessions/${session.id}/documents/${documents[0].id}/pages/3`, { user })).status).toBe(404)
      expect((await t.call('GET', `/sessions/${session.id}/documents/${documents[0].id}/pages/x`, { user })).status).toBe(404)

      // The session page shows the documents and the citations as links to their pages.
      const html = await (await t.call('GET', `/sessions/${session.id}`, { user })).text()
      expect(html).toContain('id="documents"')
      expect(html).toContain('2 pages read')
      expect(html).toContain(`href="${href}#:~:text=`)
      expect(html).toContain('class="citation verified"')
      expect(html).toContain('id="citations"')

      // Extraction is a job of its own with progress in its log.
      const logs = (await t.json('GET', `/api/v1/jobs/${(await t.deps.stores.documents.find(documents[0].id))!.jobId}/logs`, { user })).body.items
      expect(logs.map((line: any) => line.msg)).toContain('page 2 of 2')
      expect(logs.every((line: any) => line.stage === 'extract' || line.stage === null)).toBe(true)
      const councilLogs = (await t.json('GET', `/api/v1/jobs/${run.body.job_id}/logs`, { user })).body.items.map((line: any) => line.msg)
      expect(councilLogs).toContain('2 of 2 documents read')

      // A hard delete erases the documents' bytes and text, and everything derived: outputs with their citations.
      const storageKeys = (await documentRows(t)).filter((row) => row.sessionId === session.id).map((row) => row.storageKey)
      expect((await storedKeys(t.deps.storage)).filter((key) => storageKeys.some((k) => key.startsWith(k)))).toHaveLength(5)
      expect((await t.call('DELETE', `/api/v1/sessions/${session.id}?hard=true`, { user: freshUser('admin'), role: 'admin' })).status).toBe(204)
      await settled(t)
      expect(await t.deps.stores.stageOutputs.forRun(session.id)).toEqual([])
      expect((await storedKeys(t.deps.storage)).filter((key) => storageKeys.some((k) => key.startsWith(k)))).toEqual([])
      expect((await documentRows(t)).filter((row) => row.sessionId === session.id)).toEqual([])
    }, 30_000)

    test('a document that cannot be read fails with its reason and does not block the council, which says so', async () => {
      const t = app()
      const user = freshUser()
      const session = await upload(t, user, [{ name: 'scan.pdf', bytes: await makePdf(['']) }])
      expect((await t.json('POST', `/api/v1/sessions/${session.id}/run`, { user })).status).toBe(202)
      await idle(t)
      const documents = await documentsSettled(t, user, session.id)
      expect(documents[2]).toMatchObject({ filename: 'scan.pdf', status: 'failed' })
      expect(documents[2].error).toContain('no text layer')
      const results = (await t.json('GET', `/api/v1/sessions/${session.id}/results`, { user })).body
      expect(results.status).toBe('succeeded')
      expect(results.source_notes).toEqual([expect.stringMatching(/^Document 3 \("scan\.pdf"\) could not be read: .*no text layer/)])
      expect(results.citations.length).toBeGreaterThan(0)
      const html = await (await t.call('GET', `/sessions/${session.id}`, { user })).text()
      expect(html).toContain('id="source-notes"')
      expect(html).toContain('could not be read')
      expect(html).toContain('doc-failed')
    }, 30_000)
  })

describe('citations that do not check out', () => {
  test('are kept, flagged unverified with the reason, and rendered as flagged links', async () => {
    // A model that cites a real page with a claim the page does not make, and a page it was never given.
    const offline = createOfflineProvider({ latencyMs: 0 })
    const llm: LlmProvider = {
      name: 'offline-miscites',
      async complete(request) {
        const result = await offline.complete(request)
        return { ...result, content: `${result.content}\n\nPenguins migrate across the Sahara every winter [doc:1 p.1]. The appendix lists all prices [doc:1 p.9].` }
      },
    }
    const t = await buildTestApp({}, { llm })
    try {
      const user = freshUser()
      const created = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: QUESTION }, [{ name: 'q3-report.pdf', bytes: await makePdf(REPORT_PAGES) }]) })
      await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })
      await idle(t)
      const results = (await t.json('GET', `/api/v1/sessions/${created.body.id}/results`, { user })).body
      const synthesis = results.citations.filter((c: any) => c.stage === 'synthesis')
      expect(synthesis.map((c: any) => [c.label, c.verified, c.reason])).toEqual([
        ['[doc:1 p.1]', true, null],
        ['[doc:1 p.1]', false, 'low_overlap'],
        ['[doc:1 p.9]', false, 'unknown_source'],
      ])
      const html = await (await t.call('GET', `/sessions/${created.body.id}`, { user })).text()
      expect(html).toContain('class="citation unverified"')
      expect(html).toContain('unverified: the sentence does not match the source')
      expect(html).toContain('<span class="flag">unverified</span>')
    } finally {
      await t.close()
    }
  }, 30_000)
})

test('GET /api/v1/sessions/:id/documents of a missing session is 404', async () => {
  const t = await buildTestApp({}, { llm: createOfflineProvider({ latencyMs: 0 }) })
  try {
    expectErrorShape(expect, await t.json('GET', '/api/v1/sessions/not-an-id/documents', { user: freshUser() }), 404)
  } finally {
    await t.close()
  }
})
