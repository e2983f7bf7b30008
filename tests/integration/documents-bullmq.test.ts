/**
 * Documents on the production shape: PostgreSQL, BullMQ on Redis and a real
 * `bun run worker` process. The server only stores the uploads and enqueues
 * one extraction job per document; the worker reads the PDF and the DOCX
 * (its log shows the pages), then runs the council, which waited for them,
 * and every draft and the synthesis cite both documents, verified.
 */
import { afterEach, expect, test } from 'bun:test'
import { buildTestApp, type TestApp } from '../helpers/app'
import { makeDocx, makePdf } from '../helpers/documents'
import { uploadForm } from '../helpers/uploads'
import { startWorker, type WorkerProcess } from '../helpers/worker'
import { describeOnPostgres } from './support'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const alice = { user: 'alice-docs@example.com' }

let app: TestApp | undefined
const workers: WorkerProcess[] = []
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop('SIGKILL')
  await app?.close()
  app = undefined
})

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time: ${JSON.stringify(value)}\n${workers[0]?.output().slice(-3000)}`)
    await Bun.sleep(100)
  }
}

describeOnPostgres('documents on BullMQ with a separate worker process', () => {
  test('the worker extracts a PDF and a DOCX, and the council it runs cites both, verified', async () => {
    const queue = `test-docs-${crypto.randomUUID().slice(0, 8)}`
    app = await buildTestApp({ JOBS_BACKEND: 'bullmq', REDIS_URL: REDIS, JOBS_QUEUE: queue }, { dialect: 'pg' })
    const t = app
    // The upload and the run are accepted before any worker exists: nothing is read in the request.
    const created = await t.json('POST', '/api/v1/sessions', {
      ...alice,
      body: uploadForm({ question: 'What drove revenue growth in the third quarter?' }, [
        { name: 'q3-report.pdf', bytes: await makePdf(['Revenue growth reached twelve percent in the third quarter, driven by new pricing plans.', 'Hiring slowed.']) },
        { name: 'minutes.docx', bytes: makeDocx(['The board noted that third quarter revenue growth came mostly from enterprise customers.']) },
      ]),
    })
    expect(created.status).toBe(201)
    const run = await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, alice)
    expect(run.status).toBe(202)
    expect((await t.json('GET', `/api/v1/sessions/${created.body.id}/documents`, alice)).body.items.map((d: any) => d.status)).toEqual(['pending', 'pending'])

    // Server and worker share the storage (here one DATA_DIR; S3 in a real deployment).
    const worker = startWorker({ DATABASE_URL: t.config.db.url, DATA_DIR: t.config.dataDir, REDIS_URL: REDIS, JOBS_QUEUE: queue, JOBS_LOCK_MS: '5000', JOBS_CONCURRENCY: '4' })
    workers.push(worker)
    await worker.ready
    const job = await poll(async () => (await t.json('GET', `/api/v1/jobs/${run.body.job_id}`, alice)).body, (j) => ['succeeded', 'failed'].includes(j.status), 'the council')
    expect(job.status).toBe('succeeded')

    const documents = (await t.json('GET', `/api/v1/sessions/${created.body.id}/documents`, alice)).body.items
    expect(documents.map((d: any) => [d.status, d.pages])).toEqual([
      ['extracted', 2],
      ['extracted', 1],
    ])
    const results = (await t.json('GET', `/api/v1/sessions/${created.body.id}/results`, alice)).body
    for (const output of [...results.drafts.map((d: any) => ['draft', d.agent]), ['synthesis', results.synthesis.agent]]) {
      const cited = results.citations.filter((c: any) => c.stage === output[0] && c.cited_by === output[1])
      expect(cited.map((c: any) => [c.filename, c.verified]).sort()).toEqual([
        ['minutes.docx', true],
        ['q3-report.pdf', true],
      ])
    }
    // The worker did the reading: its log lines carry the extraction progress.
    expect(worker.output()).toContain('page 2 of 2')
  }, 60_000)
})
