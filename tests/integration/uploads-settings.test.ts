/**
 * Uploads under other settings, on the database of the pass: the kill switch
 * (DISABLE_UPLOADS → 403 uploads_disabled, no upload field), the `upload`
 * rate limit, the new-session form (its acknowledgement is required when files
 * are sent, a refusal keeps the question and is shown beside the field), and
 * the upload/download/delete path on a real S3-compatible server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { startS3Server, type S3TestServer } from '../helpers/s3'
import { documentRows, leavesNothing, settled, sha256, storedKeys, uploadForm } from '../helpers/uploads'
import { expectErrorShape, freshUser } from './support'

const opened: TestApp[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close()
})
async function app(env: Record<string, string> = {}) {
  const t = await buildTestApp(env)
  opened.push(t)
  return t
}

let s3: S3TestServer
beforeAll(async () => {
  s3 = await startS3Server({ bucket: 'council-uploads' })
})
afterAll(() => s3?.stop())

const HTMX = { 'hx-request': 'true' }

describe('upload settings', () => {
  test('DISABLE_UPLOADS=true: 403 uploads_disabled on both routes, nothing stored; questions alone still work; no upload field on /sessions/new', async () => {
    const t = await app({ DISABLE_UPLOADS: 'true' })
    const user = freshUser()
    const refused = await leavesNothing(t, () => t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'With a file?' }, [{ name: 'a.txt', bytes: 'text' }]) }))
    expectErrorShape(expect, refused, 403, 'uploads_disabled')
    const plain = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Without files?' } })
    expect(plain.status).toBe(201)
    const multipartWithoutFiles = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'Multipart, no files?' }) })
    expect(multipartWithoutFiles.status).toBe(201)
    expectErrorShape(expect, await t.json('POST', `/api/v1/sessions/${plain.body.id}/documents`, { user, body: uploadForm({}, [{ name: 'a.txt', bytes: 'x' }]) }), 403, 'uploads_disabled')
    const page = await (await t.call('GET', '/sessions/new', { user })).text()
    expect(page).not.toContain('type="file"')
    expect(page).not.toContain('multipart/form-data')
    expect(page).not.toContain('acknowledge_uploads')
  })

  test('the upload rate limit applies to multipart creates (429 naming "upload"); JSON creates do not spend it', async () => {
    const t = await app({ RATE_LIMITS: 'upload=2/60s' })
    const user = freshUser()
    const send = () => t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'Limited?' }, [{ name: 'a.txt', bytes: 'text' }]) })
    expect((await send()).status).toBe(201)
    expect((await send()).status).toBe(201)
    const third = await send()
    expectErrorShape(expect, third, 429, 'rate_limited')
    expect(third.body.error.message).toContain('"upload"')
    expect((await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Plain JSON?' } })).status).toBe(201)
  })

  test('the form: files need the acknowledgement (422 beside the field, question kept, nothing stored); with it the session is created', async () => {
    const t = await app()
    const user = freshUser()
    const page = await (await t.call('GET', '/sessions/new', { user })).text()
    expect(page).toContain('enctype="multipart/form-data"')
    expect(page).toContain('type="file"')
    expect(page).toContain('Uploaded documents may be processed and their content sent to the configured LLM provider')
    expect(page).toContain('Up to 10 files, 25 MB each and 50 MB in total')

    const question = 'What does <the> report say?'
    const refused = await leavesNothing(t, () =>
      t.call('POST', '/sessions', { user, headers: HTMX, body: uploadForm({ question, run: 'false' }, [{ name: 'report.txt', bytes: 'Revenue grew.' }]) }),
    )
    expect(refused.status).toBe(422)
    const html = await refused.text()
    expect(html).toContain('id="uploads-error"')
    expect(html).toContain('Uploaded documents may be processed')
    expect(html).toContain('What does &lt;the&gt; report say?')

    const accepted = await t.call('POST', '/sessions', {
      user,
      headers: HTMX,
      body: uploadForm({ question, acknowledge_uploads: 'true' }, [{ name: 'report.txt', bytes: 'Revenue grew.' }]),
    })
    expect(accepted.status).toBe(200)
    const location = accepted.headers.get('hx-location')!
    const id = location.split('/').pop()!
    const session = await t.json('GET', `/api/v1/sessions/${id}`, { user })
    expect(session.body.documents.map((d: any) => d.filename)).toEqual(['report.txt'])
    // An unsupported type is said beside the field too.
    const wrong = await t.call('POST', '/sessions', { user, headers: HTMX, body: uploadForm({ question, acknowledge_uploads: 'on' }, [{ name: 'a.exe', bytes: 'MZ' }]) })
    expect(wrong.status).toBe(415)
    expect(await wrong.text()).toContain('id="uploads-error"')
  })

  test('a document whose extraction job was cancelled before it ran is shown failed, not waited for', async () => {
    // BullMQ without a worker: the extraction job stays queued until cancelled.
    const t = await app({ JOBS_BACKEND: 'bullmq', REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', JOBS_QUEUE: `test-${crypto.randomUUID().slice(0, 8)}` })
    const user = freshUser()
    const created = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'Cancelled?' }, [{ name: 'a.txt', bytes: 'Some text to read.' }]) })
    const jobId = (await documentRows(t)).find((row) => row.sessionId === created.body.id)!.jobId!
    expect((await t.json('GET', `/api/v1/jobs/${jobId}`, { user })).body).toMatchObject({ kind: 'extract', status: 'queued' })
    expect((await t.json('POST', `/api/v1/jobs/${jobId}/cancel`, { user })).status).toBe(202)
    const [doc] = (await t.json('GET', `/api/v1/sessions/${created.body.id}/documents`, { user })).body.items
    expect(doc.status).toBe('failed')
    expect(doc.error).toContain('was cancelled')
  })

  test('on S3: upload, list, download, delete and hard delete leave the bucket as they found it', async () => {
    const t = await app(s3.env)
    expect(t.deps.storage.backend).toBe('s3')
    const user = freshUser()
    const text = 'An S3 stored note about third quarter revenue growth.'
    const created = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'Stored in S3?' }, [{ name: 'note.txt', bytes: text }, { name: 'other.md', bytes: '# Other\nText.' }]) })
    expect(created.status).toBe(201)
    const [note, other] = created.body.documents
    const download = await t.call('GET', `/api/v1/documents/${note.id}/content`, { user })
    expect(await download.text()).toBe(text)
    expect((await t.json('GET', `/api/v1/sessions/${created.body.id}/documents`, { user })).body.items[0].sha256).toBe(sha256(text))
    await settled(t)
    expect((await t.call('DELETE', `/api/v1/documents/${other.id}`, { user })).status).toBe(204)
    const otherKey = (await documentRows(t)).find((row) => row.id === other.id)!.storageKey
    expect((await storedKeys(t.deps.storage)).filter((k) => k.startsWith(otherKey))).toEqual([])

    const refused = await leavesNothing(t, () => t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: 'Bad?' }, [{ name: 'x.pdf', bytes: 'not a pdf at all' }]) }))
    expectErrorShape(expect, refused, 415, 'type_mismatch')
    expect(s3.pendingUploads()).toEqual([])

    expect((await t.call('DELETE', `/api/v1/sessions/${created.body.id}?hard=true`, { user: freshUser('admin'), role: 'admin' })).status).toBe(204)
    expect(await storedKeys(t.deps.storage)).toEqual([])
    expect(await documentRows(t)).toEqual([])
  })
})
