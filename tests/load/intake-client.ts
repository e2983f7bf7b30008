/**
 * The client of the real-path benchmark, in its own process so its CPU is not
 * the product's: INTAKE_COUNT create + run pairs sent all at once to
 * INTAKE_BASE_URL, one user per pair (INTAKE_USER_PREFIX-<n>@example.com), each
 * pair a POST /api/v1/sessions and then a POST /api/v1/sessions/:id/run.
 * Prints one JSON line: when the first request went (epoch ms), how long until
 * every run was accepted, how many failed (with a few of the reasons).
 * Run it with BUN_CONFIG_MAX_HTTP_REQUESTS raised, or fetch sends 256 at a time.
 */
export {}

const base = process.env.INTAKE_BASE_URL!
const count = Number(process.env.INTAKE_COUNT ?? 1000)
const prefix = process.env.INTAKE_USER_PREFIX ?? 'bench'

const errors: string[] = []
let failed = 0
const jobIds: string[] = []
const fail = (reason: string) => {
  failed++
  if (errors.length < 5) errors.push(reason)
}

const startedAt = Date.now()
const started = performance.now()
let lastAccepted = 0
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const headers = { 'x-user-id': `${prefix}-${i}@example.com`, 'content-type': 'application/json' }
    try {
      const created = await fetch(`${base}/api/v1/sessions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ question: `Benchmark council ${i}: should we ship on Fridays, given our on-call rotation and rollback tooling?` }),
      })
      if (created.status !== 201) return fail(`create: HTTP ${created.status} ${(await created.text()).slice(0, 200)}`)
      const { id } = (await created.json()) as { id: string }
      const run = await fetch(`${base}/api/v1/sessions/${id}/run`, { method: 'POST', headers })
      if (run.status !== 202) return fail(`run: HTTP ${run.status} ${(await run.text()).slice(0, 200)}`)
      jobIds.push(((await run.json()) as { job_id: string }).job_id)
      lastAccepted = performance.now()
    } catch (error) {
      fail(`network: ${(error as Error).message}`)
    }
  }),
)
console.log(JSON.stringify({ started_at: startedAt, accepted: jobIds.length, failed, errors, all_accepted_ms: Math.round(lastAccepted - started) }))
