/**
 * Session reads that arrive together share statements on PostgreSQL
 * (src/modules/sessions/store.pg.ts, documents/store.pg.ts): single reads by id,
 * list pages — of one user or of many users at once, in one lateral statement —
 * and the documents of the sessions shown. These tests fire them at once, so
 * they land in the same batch, and check that sharing changes nothing a caller
 * can see — ownership, soft deletes, each user's own page, cursors (another
 * user's too), each session's own documents, and that a read sent after a
 * write sees it. The same assertions run on libsql, which does not
 * coalesce, so the two stay alike.
 */
import { describe, expect, test } from 'bun:test'
import type { TestApp } from '../helpers/app'
import { uploadForm } from '../helpers/uploads'
import { freshUser, useApp, DIALECT } from './support'

const create = async (t: TestApp, user: string, question: string) => {
  const res = await t.json('POST', '/api/v1/sessions', { user, body: { question } })
  expect(res.status).toBe(201)
  return res.body.id as string
}

/** Counts the statements the PostgreSQL pool is sent that `match` (a no-op on libsql). */
function countStatements(t: TestApp, match: (config: { name?: string; text?: string }) => boolean) {
  const seen = { count: 0, restore: () => undefined as unknown }
  const { handle } = t.deps.db
  if (handle.dialect !== 'pg') return seen
  // drizzle sends every statement through the pool's query(); pg's types overload it, so it is wrapped untyped.
  const pool = handle.pool as unknown as { query: (config: unknown, ...rest: unknown[]) => unknown }
  const original = pool.query
  pool.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
    if (config && typeof config === 'object' && match(config as { name?: string; text?: string })) seen.count++
    return original.call(this, config, ...rest)
  }
  seen.restore = () => (pool.query = original)
  return seen
}

/** Counts the executions of one named prepared statement. */
const countPreparedStatements = (t: TestApp, name: string) => countStatements(t, (config) => config.name === name)

/** Counts every statement that reads a page of sessions: one user's (prepared) or many users' together. */
const countPageStatements = (t: TestApp) =>
  countStatements(t, (config) => config.name === 'sessions_first_page' || config.name === 'sessions_next_page' || /cross join lateral/.test(config.text ?? ''))

describe(`concurrent session reads on ${DIALECT}`, () => {
  const app = useApp()

  test("reads of several users' sessions in one burst each get their own answer; another user's session is 404", async () => {
    const t = app()
    const alice = freshUser('alice')
    const bob = freshUser('bob')
    const aliceIds = await Promise.all([1, 2, 3].map((n) => create(t, alice, `alice question ${n}`)))
    const bobId = await create(t, bob, 'bob question')

    const reads = [
      ...aliceIds.map((id) => ({ user: alice, id, want: 200 })),
      { user: bob, id: bobId, want: 200 },
      // The same ids asked for by the wrong user, in the same burst.
      { user: bob, id: aliceIds[0]!, want: 404 },
      { user: alice, id: bobId, want: 404 },
      // Asked twice at once by its owner.
      { user: alice, id: aliceIds[1]!, want: 200 },
    ]
    const statements = countPreparedStatements(t, 'sessions_live_by_ids')
    const answers = await Promise.all(reads.map((read) => t.json('GET', `/api/v1/sessions/${read.id}`, { user: read.user })))
    statements.restore()
    // On PostgreSQL the burst shared statements (that is what these tests are about); libsql sends none of these.
    if (DIALECT === 'pg') {
      expect(statements.count).toBeGreaterThan(0)
      expect(statements.count).toBeLessThan(reads.length)
    } else expect(statements.count).toBe(0)
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(reads[i]!.want)
      if (reads[i]!.want === 200) expect(answer.body.id).toBe(reads[i]!.id)
      else expect(answer.body.error.code).toBe('not_found')
    })
    expect(answers[3]!.body.question).toBe('bob question')
  })

  test('a soft-deleted session is 404 to its owner even when read together with live ones', async () => {
    const t = app()
    const user = freshUser('deleter')
    const [gone, kept] = await Promise.all([create(t, user, 'to delete'), create(t, user, 'to keep')])
    expect((await t.call('DELETE', `/api/v1/sessions/${gone}`, { user })).status).toBe(204)
    const [a, b] = await Promise.all([
      t.json('GET', `/api/v1/sessions/${gone}`, { user }),
      t.json('GET', `/api/v1/sessions/${kept}`, { user }),
    ])
    expect(a.status).toBe(404)
    expect(b.status).toBe(200)
  })

  test("lists of different users in one burst each hold only that user's sessions, newest first, paged by cursor", async () => {
    const t = app()
    const users = [freshUser('lister'), freshUser('lister'), freshUser('lister')]
    const made = new Map<string, string[]>()
    for (const user of users) {
      const ids: string[] = []
      for (let n = 0; n < 3; n++) ids.push(await create(t, user, `${user} #${n}`))
      made.set(user, ids)
    }
    // Each user's first page of 2, twice over, all at once.
    const requests = [...users, ...users]
    const statements = countPageStatements(t)
    const pages = await Promise.all(requests.map((user) => t.json('GET', '/api/v1/sessions?limit=2', { user })))
    statements.restore()
    // Each user's page asked for twice in one burst: on PostgreSQL the requests share statements.
    if (DIALECT === 'pg') {
      expect(statements.count).toBeGreaterThan(0)
      expect(statements.count).toBeLessThan(requests.length)
    }
    pages.forEach((page, i) => {
      const ids = made.get(requests[i]!)!
      expect(page.status).toBe(200)
      expect(page.body.items.map((item: { id: string }) => item.id)).toEqual([ids[2], ids[1]])
      expect(page.body.limit).toBe(2)
      expect(page.body.next_cursor).toEqual(expect.any(String))
    })
    // The second pages, all at once: the oldest session alone, and no further cursor.
    const second = await Promise.all(
      users.map((user, i) => t.json('GET', `/api/v1/sessions?limit=2&cursor=${pages[i]!.body.next_cursor}`, { user })),
    )
    second.forEach((page, i) => {
      expect(page.body.items.map((item: { id: string }) => item.id)).toEqual([made.get(users[i]!)![0]])
      expect(page.body.next_cursor).toBeNull()
    })
  })

  test('a list sent right after a create includes it, while other reads of the same page are in flight', async () => {
    const t = app()
    const user = freshUser('writer')
    await create(t, user, 'first')
    // Keep the same page busy with reads, then create and list again straight away.
    const busy = Promise.all(Array.from({ length: 20 }, () => t.json('GET', '/api/v1/sessions', { user })))
    const fresh = await create(t, user, 'second')
    const after = await t.json('GET', '/api/v1/sessions', { user })
    await busy
    expect(after.body.items[0].id).toBe(fresh)
    expect(after.body.items).toHaveLength(2)
  })

  test('a list asked again is answered from memory on PostgreSQL, and still shows a run, a delete and a create at once', async () => {
    const t = app()
    const user = freshUser('again')
    const first = await create(t, user, 'first')
    const second = await create(t, user, 'second')
    const pages = countPageStatements(t)
    try {
      const answers: unknown[] = []
      // On PostgreSQL the list cache's listener opens on the first list; ask until a list sends no page statement.
      for (let i = 0; i < 300; i++) {
        const before = pages.count
        const res = await t.json('GET', '/api/v1/sessions', { user })
        expect(res.status).toBe(200)
        answers.push(res.body)
        if (DIALECT === 'pg' ? pages.count === before : i >= 1) break
        await Bun.sleep(10)
      }
      expect(answers.length).toBeLessThan(300)
      // An answer from memory is the same answer.
      expect(answers.at(-1)).toEqual(answers[0])

      expect((await t.json('POST', `/api/v1/sessions/${second}/run`, { user })).status).toBe(202)
      const afterRun = await t.json('GET', '/api/v1/sessions', { user })
      expect(afterRun.body.items.find((item: { id: string }) => item.id === second).status).not.toBe('created')

      expect((await t.call('DELETE', `/api/v1/sessions/${first}`, { user })).status).toBe(204)
      const afterDelete = await t.json('GET', '/api/v1/sessions', { user })
      expect(afterDelete.body.items.map((item: { id: string }) => item.id)).toEqual([second])

      const third = await create(t, user, 'third')
      const afterCreate = await t.json('GET', '/api/v1/sessions', { user })
      expect(afterCreate.body.items.map((item: { id: string }) => item.id)).toEqual([third, second])
    } finally {
      pages.restore()
    }
  })
})

describe(`lists of many users read together on ${DIALECT}`, () => {
  const app = useApp()
  const ids = (page: { body: { items: Array<{ id: string }> } }) => page.body.items.map((item) => item.id)
  const cursorOf = (id: string) => Buffer.from(id).toString('base64url')

  test("first pages and cursor pages of many users, any limits, in one burst: each exactly its owner's live sessions, newest first", async () => {
    const t = app()
    const users = Array.from({ length: 6 }, () => freshUser('many'))
    const made = new Map<string, string[]>(users.map((user) => [user, []]))
    // Interleaved: the users' ids alternate in time, so one user's cursor falls among another's sessions.
    for (let n = 0; n < 5; n++) for (const user of users) made.get(user)!.push(await create(t, user, `${user} #${n}`))
    // The first user's newest and the second user's middle session are deleted.
    for (const [user, index] of [[users[0]!, 4], [users[1]!, 2]] as const) {
      expect((await t.call('DELETE', `/api/v1/sessions/${made.get(user)![index]}`, { user })).status).toBe(204)
      made.get(user)!.splice(index, 1)
    }
    const requests: Array<{ user: string; limit: number; after: string | null }> = []
    for (const [i, user] of users.entries()) {
      const own = made.get(user)!
      requests.push({ user, limit: 2, after: null }, { user, limit: 25, after: null }, { user, limit: 2, after: own[own.length - 2]! })
      // Another user's session as the cursor: still only this user's sessions, those older than it.
      requests.push({ user, limit: 3, after: made.get(users[(i + 1) % users.length]!)![2]! })
    }
    requests.push({ user: freshUser('empty'), limit: 5, after: null })
    const statements = countPageStatements(t)
    const shared = countStatements(t, (config) => /cross join lateral/.test(config.text ?? ''))
    const pages = await Promise.all(
      requests.map(({ user, limit, after }) =>
        t.json('GET', `/api/v1/sessions?limit=${limit}${after ? `&cursor=${cursorOf(after)}` : ''}`, { user }),
      ),
    )
    statements.restore()
    shared.restore()
    // On PostgreSQL the burst's pages were read together, by the lateral statement: fewer statements than requests.
    if (DIALECT === 'pg') {
      expect(shared.count).toBeGreaterThan(0)
      expect(statements.count).toBeLessThan(requests.length)
    } else expect(statements.count).toBe(0)
    pages.forEach((page, k) => {
      const { user, limit, after } = requests[k]!
      const newestFirst = [...(made.get(user) ?? [])].reverse().filter((id) => after === null || id < after)
      expect(page.status).toBe(200)
      expect(ids(page)).toEqual(newestFirst.slice(0, limit))
      expect(page.body.limit).toBe(limit)
      expect(page.body.next_cursor).toBe(newestFirst.length > limit ? cursorOf(newestFirst[limit - 1]!) : null)
      for (const item of page.body.items) expect(item.question).toStartWith(`${user} #`)
    })
  })

  test("a list sent right after another user's create, delete or own create sees it, while other users' lists are in flight", async () => {
    const t = app()
    const others = Array.from({ length: 8 }, () => freshUser('busy'))
    for (const user of others) await create(t, user, `${user} #0`)
    const user = freshUser('writer')
    const kept = await create(t, user, 'kept')
    const doomed = await create(t, user, 'doomed')
    const lists = () => others.map((other) => t.json('GET', '/api/v1/sessions', { user: other }))
    // Other users' lists keep the shared statement busy while this user writes and lists again straight away.
    const busy = Promise.all([...lists(), ...lists()])
    const fresh = await create(t, user, 'fresh')
    expect((await t.call('DELETE', `/api/v1/sessions/${doomed}`, { user })).status).toBe(204)
    const [after, ...rest] = await Promise.all([t.json('GET', '/api/v1/sessions', { user }), ...lists()])
    await busy
    expect(ids(after)).toEqual([fresh, kept])
    rest.forEach((page, i) => expect(page.body.items.map((item: { question: string }) => item.question)).toEqual([`${others[i]} #0`]))
  })

  test("each list item carries its own session's documents, read together for a burst of users; another user's session stays 404", async () => {
    const t = app()
    const [ann, bob, cy] = [freshUser('docs'), freshUser('docs'), freshUser('docs')]
    const withFile = async (user: string, name: string) => {
      const res = await t.json('POST', '/api/v1/sessions', { user, body: uploadForm({ question: `about ${name}` }, [{ name, bytes: `# ${name}\n` }]) })
      expect(res.status).toBe(201)
      return res.body.id as string
    }
    const annDoc = await withFile(ann, 'ann.md')
    const annPlain = await create(t, ann, 'no files')
    const bobDoc = await withFile(bob, 'bob.md')
    await create(t, cy, 'cy has none')
    const documents = countStatements(t, (config) => config.name === 'documents_for_sessions')
    const [annList, bobList, cyList, annRead, bobRead, stolen] = await Promise.all([
      t.json('GET', '/api/v1/sessions', { user: ann }),
      t.json('GET', '/api/v1/sessions', { user: bob }),
      t.json('GET', '/api/v1/sessions', { user: cy }),
      t.json('GET', `/api/v1/sessions/${annDoc}`, { user: ann }),
      t.json('GET', `/api/v1/sessions/${bobDoc}`, { user: bob }),
      t.json('GET', `/api/v1/sessions/${annDoc}`, { user: bob }),
    ])
    documents.restore()
    if (DIALECT === 'pg') {
      expect(documents.count).toBeGreaterThan(0)
      expect(documents.count).toBeLessThan(5)
    }
    const files = (item: { documents: Array<{ filename: string }> }) => item.documents.map((doc) => doc.filename)
    expect(annList.body.items.map((item: { id: string }) => item.id)).toEqual([annPlain, annDoc])
    expect(annList.body.items.map(files)).toEqual([[], ['ann.md']])
    expect(bobList.body.items.map(files)).toEqual([['bob.md']])
    expect(cyList.body.items.map(files)).toEqual([[]])
    expect(files(annRead.body)).toEqual(['ann.md'])
    expect(files(bobRead.body)).toEqual(['bob.md'])
    expect(stolen.status).toBe(404)
  })
})

describe('the sessions page lists 25 at a time with "load more"', () => {
  const app = useApp()

  test('the page shows the newest 25 and a load-more row; its fragment holds the rest and no further row', async () => {
    const t = app()
    const user = freshUser('pager')
    const ids: string[] = []
    for (let n = 0; n < 27; n++) ids.push(await create(t, user, `paged question ${n}`))
    const html = await (await t.call('GET', '/sessions', { user })).text()
    expect(html).toContain('paged question 26')
    expect(html).toContain('paged question 2<')
    expect(html).not.toContain('paged question 1<')
    expect(html).toContain('<tr id="load-more-row">')
    const more = /hx-get="(\/sessions\?cursor=[^"]+)" hx-target="#load-more-row"/.exec(html)?.[1]
    expect(more).toBeTruthy()
    const rows = await (await t.call('GET', more!, { user, headers: { 'hx-request': 'true' } })).text()
    expect(rows).toStartWith('<tr')
    expect(rows).toContain('paged question 1<')
    expect(rows).toContain('paged question 0<')
    expect(rows).not.toContain('paged question 2<')
    expect(rows).not.toContain('load-more-row')
  })
})
