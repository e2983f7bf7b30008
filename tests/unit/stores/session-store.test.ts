/** The session store's contract, on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { DocumentRow, SessionRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'
import { sessionRow } from '../../helpers/rows'

/** The question carries non-ASCII and quotes: it must read back unchanged on both dialects. */
const session = (userId: string, fields: Partial<SessionRow> = {}) => sessionRow(userId, { question: 'Why is the sky blue? — «unicode» \'quotes\'', ...fields })

const document = (owner: SessionRow, fields: Partial<DocumentRow> = {}): DocumentRow => {
  const id = newId()
  const at = new Date(Date.UTC(2026, 1, 2, 3, 4, 5, 678))
  return {
    id, sessionId: owner.id, userId: owner.userId, storageKey: `documents/${id}`, filename: `Q3 «${id.slice(-4)}».pdf`, mime: 'application/pdf',
    kind: 'pdf', bytes: 3_000_000_000, sha256: 'ab'.repeat(32), status: 'extracted', pages: 12, pagesDone: 12, chars: 4567, error: null,
    jobId: newId(), createdAt: at, updatedAt: at, deletedAt: null, ...fields,
  }
}

eachDialect('session store', (use) => {
  test('a stored session reads back equal, for its owner only', async () => {
    const { stores } = use()
    const row = session('owner-1', { costMicroUsd: 12_345_678_901, partial: true, webSearch: true })
    await stores.sessions.insert(row)
    expect(await stores.sessions.findLive(row.id, 'owner-1')).toEqual(row)
    expect(await stores.sessions.findLive(row.id, 'someone-else')).toBeUndefined()
    expect(await stores.sessions.findLive(newId(), 'owner-1')).toBeUndefined()
  })

  test('pages are newest first, keyed by id, one owner only, without soft-deleted rows', async () => {
    const { stores } = use()
    const owner = `pager-${newId()}`
    const rows: SessionRow[] = []
    for (let i = 0; i < 5; i++) {
      const row = session(owner)
      rows.push(row)
      await stores.sessions.insert(row)
    }
    await stores.sessions.insert(session(`other-${newId()}`))
    expect(await stores.sessions.softDelete(rows[2]!.id, owner, new Date())).toBe(true)
    const first = (await stores.sessions.page(owner, null, 2)).rows
    expect(first.map((r) => r.id)).toEqual([rows[4]!.id, rows[3]!.id])
    const next = await stores.sessions.page(owner, first[1]!.id, 10)
    expect(next.rows.map((r) => r.id)).toEqual([rows[1]!.id, rows[0]!.id])
    expect(next.documents).toEqual([])
  })

  test('insertMany stores any number of rows, over several statements, each reading back equal', async () => {
    const { stores } = use()
    const owner = `many-${newId()}`
    const rows = Array.from({ length: 1002 }, (_, i) => session(owner, { question: `Question ${i}?` }))
    await stores.sessions.insertMany(rows)
    await stores.sessions.insertMany([])
    for (const row of [rows[0]!, rows[999]!, rows[1000]!, rows[1001]!]) expect(await stores.sessions.findOwned(row.id, owner)).toEqual(row)
    expect((await stores.sessions.page(owner, null, 200)).rows).toHaveLength(200)
  })

  test('soft delete: only the owner, only once; the row then reads as missing', async () => {
    const { stores } = use()
    const row = session('deleter')
    await stores.sessions.insert(row)
    expect(await stores.sessions.softDelete(row.id, 'intruder', new Date())).toBe(false)
    expect(await stores.sessions.softDelete(row.id, 'deleter', new Date())).toBe(true)
    expect(await stores.sessions.softDelete(row.id, 'deleter', new Date())).toBe(false)
    expect(await stores.sessions.findLive(row.id, 'deleter')).toBeUndefined()
  })

  test('remove answers the owner once, then nothing', async () => {
    const { stores } = use()
    const row = session('remover')
    await stores.sessions.insert(row)
    expect(await stores.sessions.remove(row.id)).toEqual({ userId: 'remover' })
    expect(await stores.sessions.remove(row.id)).toBeUndefined()
  })

  test('a transaction that throws leaves no row behind', async () => {
    const { stores } = use()
    const row = session('rollback')
    await expect(
      stores.transaction(async (tx) => {
        await tx.sessions.insert(row)
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.sessions.findLive(row.id, 'rollback')).toBeUndefined()
  })

  test('concurrent reads of many sessions each get their own row (shared statements on PostgreSQL)', async () => {
    const { stores } = use()
    const rows = Array.from({ length: 20 }, (_, i) => session(`burst-${i % 3}`))
    for (const row of rows) await stores.sessions.insert(row)
    const read = await Promise.all(rows.map((row) => stores.sessions.findLive(row.id, row.userId)))
    expect(read.map((r) => r?.id)).toEqual(rows.map((r) => r.id))
    const wrongOwner = await Promise.all(rows.map((row) => stores.sessions.findLive(row.id, 'nobody')))
    expect(wrongOwner.every((r) => r === undefined)).toBe(true)
  })

  test('concurrent pages of many owners (first pages and cursor pages, any limits; read together on PostgreSQL) each equal that page read alone', async () => {
    const { stores } = use()
    const owners = Array.from({ length: 5 }, (_, i) => `lister-${i}-${newId()}`)
    const made = new Map<string, SessionRow[]>(owners.map((owner) => [owner, []]))
    // Interleaved, so the owners' ids alternate in time; every field differs by row, to check the mapping.
    for (let n = 0; n < 6; n++)
      for (const [i, owner] of owners.entries()) {
        const row = session(owner, {
          question: `${owner} #${n} — «${i}»`,
          costMicroUsd: 9_007_199_254_740 + n,
          partial: n % 2 === 0,
          webSearch: i % 2 === 1,
          status: n % 3 === 0 ? 'succeeded' : 'created',
          stage: n % 3 === 0 ? 'synthesis' : null,
          tokensIn: n * 100 + i,
          error: n === 5 ? 'boom' : null,
          createdAt: new Date(Date.UTC(2026, 0, 1, 0, n, i, 123)),
        })
        await stores.sessions.insert(row)
        made.get(owner)!.push(row)
      }
    // Documents: two on owner 2's second session, one on owner 3's fourth, and a deleted one on owner 2's fourth.
    const docs = [document(made.get(owners[2]!)![1]!), document(made.get(owners[2]!)![1]!, { status: 'failed', pages: null, error: 'bad' }), document(made.get(owners[3]!)![3]!)]
    const deletedDoc = document(made.get(owners[2]!)![3]!, { deletedAt: new Date() })
    await stores.documents.insert([...docs, deletedDoc])
    // Owner 0's newest and owner 1's third are deleted.
    await stores.sessions.softDelete(made.get(owners[0]!)![5]!.id, owners[0]!, new Date())
    await stores.sessions.softDelete(made.get(owners[1]!)![2]!.id, owners[1]!, new Date())
    const asks: Array<[string, string | null, number]> = []
    for (const [i, owner] of owners.entries()) {
      const rows = made.get(owner)!
      asks.push([owner, null, 2], [owner, null, 10], [owner, rows[4]!.id, 2], [owner, rows[1]!.id, 3], [owner, null, 2])
      // Another owner's cursor: still this owner's rows only, below that id.
      asks.push([owner, made.get(owners[(i + 1) % owners.length]!)![3]!.id, 4])
    }
    asks.push([`nobody-${newId()}`, null, 5])
    const together = await Promise.all(asks.map(([owner, after, limit]) => stores.sessions.page(owner, after, limit)))
    for (const [k, [owner, after, limit]] of asks.entries()) {
      const alone = await stores.sessions.page(owner, after, limit)
      const expected = (made.get(owner) ?? [])
        .filter((row) => !(owner === owners[0] && row === made.get(owners[0]!)![5]) && !(owner === owners[1] && row === made.get(owners[1]!)![2]))
        .filter((row) => after === null || row.id < after)
        .reverse()
        .slice(0, limit)
      expect(together[k]).toEqual(alone)
      expect(together[k]!.rows.map((row) => row.id)).toEqual(expected.map((row) => row.id))
      // Every field reads back as written (a row read in a shared statement is mapped like any other).
      together[k]!.rows.forEach((row, j) => expect(row).toEqual(expected[j]!))
      // The page's sessions' live documents, in upload order, every field as written.
      const shown = new Set(expected.map((row) => row.id))
      expect(together[k]!.documents).toEqual(docs.filter((doc) => shown.has(doc.sessionId)))
    }
  })

  test('liveById reads a live session whoever owns it; a deleted or missing one is undefined', async () => {
    const { stores } = use()
    const row = session('anyone')
    const gone = session('anyone')
    await stores.sessions.insert(row)
    await stores.sessions.insert(gone)
    await stores.sessions.softDelete(gone.id, 'anyone', new Date())
    const [live, deleted, missing] = await Promise.all([stores.sessions.liveById(row.id), stores.sessions.liveById(gone.id), stores.sessions.liveById(newId())])
    expect(live).toEqual(row)
    expect(deleted).toBeUndefined()
    expect(missing).toBeUndefined()
  })

  test('setRunning: many sessions at once, each at its own stage, updated_at moved on', async () => {
    const { stores } = use()
    const old = new Date(Date.now() - 60_000)
    const rows = Array.from({ length: 12 }, () => session('runner', { status: 'queued', createdAt: old, updatedAt: old }))
    for (const row of rows) await stores.sessions.insert(row)
    const stages = ['draft', 'review', 'synthesis']
    await Promise.all(rows.map((row, i) => stores.sessions.setRunning(row.id, stages[i % 3]!)))
    const after = await Promise.all(rows.map((row) => stores.sessions.findLive(row.id, 'runner')))
    after.forEach((row, i) => {
      expect(row).toMatchObject({ status: 'running', stage: stages[i % 3] })
      expect(row!.updatedAt.getTime()).toBeGreaterThan(old.getTime())
    })
  })

  test('updateMany: the named sessions only, in one statement, updated_at moved on', async () => {
    const { stores } = use()
    const old = new Date(Date.now() - 60_000)
    const rows = Array.from({ length: 5 }, () => session('queuer', { status: 'created', error: 'earlier failure', createdAt: old, updatedAt: old }))
    await stores.sessions.insertMany(rows)
    await stores.transaction((tx) => tx.sessions.updateMany(rows.slice(0, 3).map((row) => row.id), { status: 'queued', error: null }))
    await stores.sessions.updateMany([], { status: 'failed' })
    const after = await Promise.all(rows.map((row) => stores.sessions.findLive(row.id, 'queuer')))
    expect(after.map((row) => [row!.status, row!.error])).toEqual([...Array(3).fill(['queued', null]), ...Array(2).fill(['created', 'earlier failure'])])
    expect(after[0]!.updatedAt.getTime()).toBeGreaterThan(old.getTime())
    expect(after[4]!.updatedAt.getTime()).toBe(old.getTime())
  })

  test('succeed: many sessions at once (one batch statement on PostgreSQL), each with its own totals and time', async () => {
    const { stores } = use()
    const rows = Array.from({ length: 12 }, () => session('finisher', { status: 'running', stage: 'review' }))
    for (const row of rows) await stores.sessions.insert(row)
    const base = Date.now()
    const totals = (i: number) => ({
      partial: i % 2 === 1,
      tokensIn: 100 + i,
      tokensOut: 50 + i,
      costMicroUsd: 10_000_000_000 + i,
      error: i % 2 ? `Partial council: skeptic (draft): «rate limited» ${i}` : null,
      at: new Date(base + i),
    })
    await Promise.all(rows.map((row, i) => stores.sessions.succeed(row.id, totals(i))))
    const after = await Promise.all(rows.map((row) => stores.sessions.findLive(row.id, 'finisher')))
    after.forEach((row, i) => {
      const { at, ...rest } = totals(i)
      expect(row).toEqual({ ...rows[i]!, status: 'succeeded', stage: 'synthesis', ...rest, updatedAt: at })
    })
  })

  test('search: words anywhere in the question, any case; %, _ and \\ match only themselves; status filter; keyset pages', async () => {
    const { stores } = use()
    const owner = `searcher-${newId()}`
    const questions = ['Ship on FRIDAYS?', 'Why do we ship late?', '100% sure_thing', '1000 sure things', 'back\\slash path', 'Nothing here']
    const rows: SessionRow[] = []
    for (const [i, question] of questions.entries()) {
      const row = session(owner, { question, status: i % 2 ? 'succeeded' : 'failed' })
      rows.push(row)
      await stores.sessions.insert(row)
    }
    await stores.sessions.insert(session(`other-${newId()}`, { question: 'ship it' }))
    const found = async (filter: { q?: string; status?: string }, after: string | null = null, limit = 10) =>
      (await stores.sessions.search(owner, filter, after, limit)).map((row) => row.question)
    expect(await found({ q: 'ship' })).toEqual(['Why do we ship late?', 'Ship on FRIDAYS?'])
    expect(await found({ q: 'fridays' })).toEqual(['Ship on FRIDAYS?'])
    expect(await found({ q: '%' })).toEqual(['100% sure_thing'])
    expect(await found({ q: '0_s' })).toEqual([])
    expect(await found({ q: 'e_t' })).toEqual(['100% sure_thing'])
    expect(await found({ q: 'k\\s' })).toEqual(['back\\slash path'])
    expect(await found({ status: 'succeeded' })).toEqual(['Nothing here', '1000 sure things', 'Why do we ship late?'])
    expect(await found({ q: 'ship', status: 'failed' })).toEqual(['Ship on FRIDAYS?'])
    expect(await found({})).toHaveLength(6)
    const first = await stores.sessions.search(owner, { q: 'sure' }, null, 1)
    expect(first.map((row) => row.question)).toEqual(['1000 sure things'])
    expect(await found({ q: 'sure' }, first[0]!.id)).toEqual(['100% sure_thing'])
    await stores.sessions.softDelete(rows[0]!.id, owner, new Date())
    expect(await found({ q: 'fridays' })).toEqual([])
  })

  test('manyLive: the owner’s live sessions among the ids only', async () => {
    const { stores } = use()
    const owner = `many-${newId()}`
    const mine = [session(owner), session(owner), session(owner)]
    const theirs = session(`other-${newId()}`)
    for (const row of [...mine, theirs]) await stores.sessions.insert(row)
    await stores.sessions.softDelete(mine[2]!.id, owner, new Date())
    const got = await stores.sessions.manyLive(owner, [mine[0]!.id, mine[1]!.id, mine[2]!.id, theirs.id, newId()])
    expect(got.map((row) => row.id).sort()).toEqual([mine[0]!.id, mine[1]!.id].sort())
  })
})
