import { startServer } from './helpers/server'
import { readFileSync } from 'node:fs'
const server = await startServer({ env: { JOBS_BACKEND: 'bullmq', JOBS_QUEUE: 'dbg-' + crypto.randomUUID().slice(0, 8) } })
const pid = Number(/"pid":(\d+)/.exec(server.output())?.[1])
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
try {
  const text = Buffer.alloc(25 * 1024 * 1024 - 100, 'The quick brown fox jumps over the lazy dog. ')
  const form = new FormData()
  form.append('question', 'What is in it?')
  form.append('files', new Blob([text]), 'big.txt')
  // warm up
  for (let i = 0; i < 2; i++) await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: { 'x-user-id': 'rss@example.com' }, body: JSON.stringify({ question: 'warm' }) })
  Bun.gc(true)
  const before = rss()
  let peak = before
  const timer = setInterval(() => { peak = Math.max(peak, rss()) }, 5)
  const t0 = performance.now()
  const res = await fetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: { 'x-user-id': 'rss@example.com' }, body: form })
  const ms = performance.now() - t0
  clearInterval(timer)
  console.log(res.status, (await res.text()).slice(0, 100))
  console.log({ before, peak, growth: peak - before, ms, mbps: 25 / (ms / 1000) })
} finally {
  await server.stop()
}
