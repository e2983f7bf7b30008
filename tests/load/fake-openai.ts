/**
 * A fake OpenAI-compatible endpoint for the real-path benchmark, run in its own
 * process (`bun run tests/load/fake-openai.ts`): every POST /v1/chat/completions
 * answers after FAKE_DELAY_MS (1,000) with an answer of realistic size and
 * `usage`. A review prompt (it asks for a "FINAL RANKING:" block) gets a critique
 * and a ranking of the labels the prompt shows, in the form the council's parser
 * accepts. A streamed request gets its answer in FAKE_CHUNKS server-sent
 * chunks spread over the last quarter of the delay, usage in the last one.
 * It counts the calls in flight: GET /stats returns the peak and a sample every
 * 100 ms (the highest count seen in each interval), and how many connections
 * the calls came on.
 */
export {}

const DELAY_MS = Number(process.env.FAKE_DELAY_MS ?? 1000)
const CHUNKS = Math.max(1, Number(process.env.FAKE_CHUNKS ?? 20))
const SAMPLE_MS = 100

const SENTENCES = [
  'The safest course is to ship behind a feature flag and widen the rollout as the error rate stays flat.',
  'Friday releases concentrate risk where the fewest people are around to respond, so the cost of a bad deploy is higher.',
  'A team with automated rollback and good observability can release on any day; the question is really about recovery time.',
  'Measure the change failure rate over the last quarter before deciding, because intuition overweights memorable incidents.',
  'Customers rarely notice the day of a release; they notice outages, slow pages and data loss.',
  'If the on-call rotation is thin at the weekend, the expected cost of a Friday incident is the weekend of one engineer.',
]
/** About 1,700 characters (~420 tokens): the size of a typical draft or synthesis. */
const answer = (seed: number) => {
  const parts: string[] = ['## Recommendation', '']
  for (let i = 0; i < 16; i++) parts.push(SENTENCES[(seed + i) % SENTENCES.length]!)
  return parts.join(' ').replace('  ', '\n\n')
}
const critique = (labels: string[]) =>
  [
    ...labels.map((label, i) => `Response ${label}: ${SENTENCES[i % SENTENCES.length]} It misses ${SENTENCES[(i + 3) % SENTENCES.length]!.toLowerCase()}`),
    '',
    'FINAL RANKING:',
    ...[...labels].reverse().map((label, i) => `${i + 1}. Response ${label}`),
  ].join('\n')

let inFlight = 0
let peak = 0
let calls = 0
/** Client ports seen: how many connections the calls came on (fewer than calls when connections are reused). */
const ports = new Set<number>()
let intervalPeak = 0
const started = Date.now()
const samples: Array<[number, number]> = []
setInterval(() => {
  samples.push([Date.now() - started, intervalPeak])
  intervalPeak = inFlight
}, SAMPLE_MS)
const enter = () => {
  calls++
  inFlight++
  if (inFlight > peak) peak = inFlight
  if (inFlight > intervalPeak) intervalPeak = inFlight
}

interface Body {
  model?: string
  stream?: boolean
  messages?: Array<{ role: string; content: string }>
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: '127.0.0.1',
  idleTimeout: 120,
  async fetch(request, server) {
    const path = new URL(request.url).pathname
    if (request.method === 'GET' && path === '/stats') return Response.json({ peak, calls, connections: ports.size, in_flight: inFlight, started_at: started, samples })
    if (request.method !== 'POST' || !path.endsWith('/chat/completions')) return new Response('not found', { status: 404 })
    enter()
    const port = server.requestIP(request)?.port
    if (port) ports.add(port)
    const body = (await request.json()) as Body
    const prompt = body.messages?.at(-1)?.content ?? ''
    const labels = prompt.includes('FINAL RANKING:') ? [...prompt.matchAll(/^Response ([A-Z]):$/gm)].map((m) => m[1]!) : []
    const content = labels.length > 0 ? critique(labels) : answer(calls)
    const usage = { prompt_tokens: Math.ceil(prompt.length / 4) + 40, completion_tokens: Math.ceil(content.length / 4) }
    const model = body.model ?? 'fake'
    const id = `chatcmpl-${calls}`
    if (!body.stream) {
      await Bun.sleep(DELAY_MS)
      inFlight--
      return Response.json({
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        system_fingerprint: 'fp_fake',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      })
    }
    // Streamed: the first chunk after three quarters of the delay, the rest spread over the last quarter.
    const first = Math.round(DELAY_MS * 0.75)
    const step = (DELAY_MS - first) / CHUNKS
    const size = Math.ceil(content.length / CHUNKS)
    const encoder = new TextEncoder()
    const chunk = (data: unknown) => encoder.encode(`data: ${JSON.stringify(data)}\n\n`)
    const created = Math.floor(Date.now() / 1000)
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        await Bun.sleep(first)
        for (let i = 0; i < CHUNKS; i++) {
          const piece = content.slice(i * size, (i + 1) * size)
          controller.enqueue(chunk({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }))
          await Bun.sleep(step)
        }
        controller.enqueue(chunk({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }))
        controller.enqueue(encoder.encode('data: [DONE]\n\n'))
        inFlight--
        controller.close()
      },
    })
    return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
  },
})
console.log(`fake-openai listening on ${server.port}`)
process.on('SIGTERM', () => process.exit(0))
