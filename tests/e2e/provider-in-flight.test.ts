/**
 * No hidden cap on provider calls (issue 15): Bun's fetch sends at most 256
 * requests at once per process unless BUN_CONFIG_MAX_HTTP_REQUESTS says
 * otherwise, and the server lifts it from LLM_MAX_IN_FLIGHT at start-up. The
 * real server (embedded defaults, jobs inline) runs 110 councils through the
 * OpenAI-compatible provider against a local fake that holds every call until
 * 300 are open at once (or a deadline passes), so the count it sees is the
 * number the server really had in flight: 330 drafts want to go, more than 256 must.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startServer, type RunningServer } from '../helpers/server'

const COUNCILS = 110
const WANTED = 300
const HOLD_DEADLINE_MS = 8000

let inFlight = 0
let peak = 0
let release: () => void = () => undefined
let released = new Promise<void>((resolve) => (release = resolve))
let fake: ReturnType<typeof Bun.serve>
let server: RunningServer | undefined

const answer = (stream: boolean) => {
  const usage = { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 }
  if (!stream) return Response.json({ model: 'fake', choices: [{ message: { content: 'FINAL RANKING:\n1. Response A' } }], usage })
  const chunks = [{ model: 'fake', choices: [{ delta: { content: 'FINAL RANKING:\n1. Response A' } }] }, { model: 'fake', choices: [], usage }]
  return new Response(`${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`, { headers: { 'content-type': 'text/event-stream' } })
}

beforeAll(async () => {
  fake = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 30,
    async fetch(request) {
      // The status page's probe asks GET /v1/models (src/modules/status): answer it, count only completions.
      if (request.method !== 'POST') return Response.json({ object: 'list', data: [] })
      const body = (await request.json()) as { stream?: boolean }
      peak = Math.max(peak, ++inFlight)
      if (inFlight >= WANTED) release()
      await Promise.race([released, Bun.sleep(HOLD_DEADLINE_MS)])
      inFlight--
      return answer(body.stream === true)
    },
  })
  server = await startServer({
    env: {
      LLM_PROVIDER: 'openai',
      OPENAI_BASE_URL: `http://127.0.0.1:${fake.port}/v1`,
      OPENAI_API_KEY: 'sk-test',
      JOBS_CONCURRENCY: String(COUNCILS),
      LOG_LEVEL: 'warn',
    },
  })
})

afterAll(async () => {
  release()
  await server?.stop()
  fake.stop(true)
})

test(`more than 256 provider calls are in flight at once (LLM_MAX_IN_FLIGHT defaults to JOBS_CONCURRENCY × COUNCIL_CONCURRENCY)`, async () => {
  const base = server!.url
  const user = (i: number) => ({ 'x-user-id': `in-flight-${i}-${crypto.randomUUID().slice(0, 6)}@example.com`, 'content-type': 'application/json' })
  const users = Array.from({ length: COUNCILS }, (_, i) => user(i))
  // Sessions first (no provider call), then every run at once.
  const ids: string[] = []
  for (let i = 0; i < COUNCILS; i += 20)
    ids.push(
      ...(await Promise.all(
        users.slice(i, i + 20).map(async (headers, k) => {
          const res = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers, body: JSON.stringify({ question: `Council ${i + k}: ship it?` }) })
          expect(res.status).toBe(201)
          return ((await res.json()) as { id: string }).id
        }),
      )),
    )
  const runs = await Promise.all(ids.map((id, i) => fetch(`${base}/api/v1/sessions/${id}/run`, { method: 'POST', headers: users[i]! })))
  expect(runs.map((res) => res.status)).toEqual(ids.map(() => 202))
  const deadline = Date.now() + HOLD_DEADLINE_MS + 5000
  while (peak < WANTED && Date.now() < deadline) await Bun.sleep(50)
  expect(peak).toBeGreaterThan(256)
}, 60_000)
