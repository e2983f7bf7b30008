/**
 * The container health probe (Dockerfile HEALTHCHECK, compose healthchecks): exit 0 when
 * the URL answers 2xx within 4 s, else 1. Bun's fetch, so the slim image needs no curl.
 *
 *   bun run scripts/healthcheck.ts                 → http://127.0.0.1:$PORT/healthz
 *   bun run scripts/healthcheck.ts <url>           → that URL; a /metrics URL is sent
 *                                                    METRICS_TOKEN as a bearer token
 */
export {}

const url = process.argv[2] ?? `http://127.0.0.1:${process.env.PORT || 3000}/healthz`
const token = process.env.METRICS_TOKEN
const headers: Record<string, string> = token && new URL(url).pathname === '/metrics' ? { authorization: `Bearer ${token}` } : {}
try {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(4000) })
  if (!response.ok) console.error(`healthcheck: ${url} answered ${response.status}`)
  process.exit(response.ok ? 0 : 1)
} catch (error) {
  console.error(`healthcheck: ${url}: ${(error as Error).message}`)
  process.exit(1)
}
