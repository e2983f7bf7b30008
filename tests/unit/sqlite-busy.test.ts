/**
 * The embedded database is one libsql file that more than one process may
 * write: a server, and beside it a script (`bun run backup`, retention, a
 * test seeding the file). A write that finds another process's write lock must
 * wait for it (db/client.ts: a busy timeout on every connection the client
 * opens, whether or not it ever migrated), not fail at once with SQLITE_BUSY.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { createDatabase, type Database } from '../../db/client'

const dir = mkdtempSync(join(tmpdir(), 'council-busy-'))
const path = join(dir, 'council.db')
const opened: Database[] = []
afterAll(async () => {
  for (const db of opened) await db.close()
  rmSync(dir, { recursive: true, force: true })
})

const orm = (db: Database) => {
  if (db.handle.dialect !== 'sqlite') throw new Error('unreachable: a file: URL is libsql')
  return db.handle.orm
}

/** Another process that takes the write lock, says so, and keeps it for `holdMs`. */
function holdWriteLock(holdMs: number) {
  const script = `
    import { createClient } from '@libsql/client'
    const client = createClient({ url: 'file:${path}' })
    const tx = await client.transaction('write')
    await tx.execute('insert into busy_probe (n) values (1)')
    console.log('locked')
    await Bun.sleep(${holdMs})
    await tx.commit()
    client.close()
  `
  const proc = Bun.spawn(['bun', '-e', script], { cwd: join(import.meta.dir, '..', '..'), stdout: 'pipe', stderr: 'inherit' })
  const locked = (async () => {
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
    for (let text = ''; !text.includes('locked'); ) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the locking process ended before it took the lock')
      text += new TextDecoder().decode(value)
    }
  })()
  return { locked, exited: proc.exited }
}

test('a write waits for another process’s write lock instead of failing with SQLITE_BUSY, on a client that never migrated', async () => {
  const server = createDatabase({ url: `file:${path}` })
  opened.push(server)
  await server.migrate()
  await orm(server).run(sql`create table if not exists busy_probe (n integer)`)
  // A second client on the same file that never migrates (as a script or a seeding test would).
  const script = createDatabase({ url: `file:${path}` })
  opened.push(script)

  const other = holdWriteLock(300)
  await other.locked
  const started = performance.now()
  await orm(script).run(sql`insert into busy_probe (n) values (2)`)
  expect(performance.now() - started).toBeGreaterThan(150)
  expect(await other.exited).toBe(0)
  const rows = await orm(server).all<{ n: number }>(sql`select n from busy_probe order by n`)
  expect(rows.map((row) => row.n)).toEqual([1, 2])
})
