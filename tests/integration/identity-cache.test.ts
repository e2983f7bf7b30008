/**
 * The identity cache (src/modules/identity/service.ts) through the app: a busy
 * person's entry is refreshed in the background before it expires, so requests
 * do not wait for the re-read; a role bound behind the app's back is still seen
 * within IDENTITY_CACHE_MS; an invalidation during a background read is not
 * undone by it. Run on the run's dialect.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { newId } from '../../db/client'
import { buildTestApp, type TestApp } from '../helpers/app'

const CACHE_MS = 600
let t: TestApp

beforeEach(async () => {
  t = await buildTestApp({ IDENTITY_CACHE_MS: String(CACHE_MS) })
})
afterEach(async () => {
  await t.close()
})

const me = async () => {
  const started = performance.now()
  const res = await t.json<{ roles: string[]; id: string }>('GET', '/api/v1/me', { user: 'cache@example.com', role: '' })
  expect(res.status).toBe(200)
  return { roles: res.body.roles, id: res.body.id, ms: performance.now() - started }
}

/** Role reads answer `ms` late from now on, with what was true when they started (the background refresh's, and any request's). */
function slowRoleReads(ms: number) {
  const store = t.deps.stores.identity
  const original = store.rolesOf.bind(store)
  let reads = 0
  store.rolesOf = async (userId: string) => {
    const roles = await original(userId)
    reads += 1
    await Bun.sleep(ms)
    return roles
  }
  return () => reads
}

const bindAuditor = (userId: string) =>
  t.deps.stores.identity.bind({ id: newId(), userId, role: 'auditor', createdBy: 'test', createdAt: new Date() })

test('past three quarters of its life an entry is served at once and refreshed behind the request; a role bound meanwhile shows within IDENTITY_CACHE_MS', async () => {
  const first = await me()
  expect(first.roles).not.toContain('auditor')
  const reads = slowRoleReads(250)
  await bindAuditor(first.id)
  await Bun.sleep(CACHE_MS * 0.8)
  // Within its life: the cached identity, without waiting for the 250 ms read it starts.
  const stale = await me()
  expect(stale.roles).not.toContain('auditor')
  expect(stale.ms).toBeLessThan(200)
  await Bun.sleep(100)
  expect(reads()).toBe(1) // the refresh's, started by that request
  await Bun.sleep(300)
  // The refresh landed: the new role, still without a read in the request.
  const fresh = await me()
  expect(fresh.roles).toContain('auditor')
  expect(fresh.ms).toBeLessThan(200)
  expect(reads()).toBe(1)
})

test('an invalidation while a background read runs is not undone by that read', async () => {
  const first = await me()
  const reads = slowRoleReads(300)
  await Bun.sleep(CACHE_MS * 0.8)
  await me() // starts the background read
  while (reads() === 0) await Bun.sleep(5) // it has read the roles: no auditor yet
  await bindAuditor(first.id)
  t.deps.identity.invalidate() // what a role change through the app does
  await Bun.sleep(400) // the old read finishes after the invalidation
  const after = await me()
  expect(after.roles).toContain('auditor')
})

test('an entry that was not used near its end expires and is read in the request', async () => {
  const first = await me()
  await bindAuditor(first.id)
  await Bun.sleep(CACHE_MS + 50)
  const reads = slowRoleReads(100)
  const next = await me()
  expect(next.roles).toContain('auditor')
  expect(next.ms).toBeGreaterThanOrEqual(100)
  expect(reads()).toBe(1)
})
