/**
 * The document store's contract, on libsql and on PostgreSQL: live reads for
 * the owner of a live session only, upload order, usage for the limits, the
 * extraction lifecycle (pending → extracting → extracted | failed, never back
 * once finished or deleted), soft delete and erasure.
 */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { DocumentRow, SessionRow } from '../../../db/schema'
import { eachDialect } from '../../helpers/databases'
import { sessionRow } from '../../helpers/rows'

const session = (userId: string) => sessionRow(userId, { question: 'What does the report say?' })

const document = (owner: SessionRow, fields: Partial<DocumentRow> = {}): DocumentRow => {
  const now = new Date()
  const id = newId()
  return {
    id,
    sessionId: owner.id,
    userId: owner.userId,
    storageKey: `documents/${id}`,
    filename: 'Q3 «report».pdf',
    mime: 'application/pdf',
    kind: 'pdf',
    bytes: 3_000_000_000,
    sha256: 'ab'.repeat(32),
    status: 'pending',
    pages: null,
    pagesDone: 0,
    chars: null,
    error: null,
    jobId: newId(),
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    ...fields,
  }
}

eachDialect('document store', (use) => {
  const withSession = async (user = `owner-${newId()}`) => {
    const row = session(user)
    await use().stores.sessions.insert(row)
    return row
  }

  test('documents read back equal, in upload order, for the owner of a live session only', async () => {
    const { stores } = use()
    const owner = await withSession()
    const first = document(owner)
    const second = document(owner, { filename: 'notes.md', kind: 'md', mime: 'text/markdown; charset=utf-8', bytes: 12 })
    await stores.documents.insert([first, second])
    await stores.documents.insert([])
    expect(await stores.documents.find(first.id)).toEqual(first)
    expect(await stores.documents.findLive(first.id, owner.userId)).toEqual(first)
    expect(await stores.documents.findLive(first.id, 'someone-else')).toBeUndefined()
    expect(await stores.documents.forSession(owner.id)).toEqual([first, second])
    expect(await stores.documents.usage(owner.id)).toEqual({ files: 2, bytes: 3_000_000_012 })
    expect(await stores.documents.usage(newId())).toEqual({ files: 0, bytes: 0 })

    await stores.sessions.softDelete(owner.id, owner.userId, new Date())
    expect(await stores.documents.findLive(first.id, owner.userId)).toBeUndefined()
  })

  test('forSessions reads the documents of several sessions at once', async () => {
    const { stores } = use()
    const a = await withSession()
    const b = await withSession()
    const [docA, docB] = [document(a), document(b)]
    await stores.documents.insert([docA, docB, document(await withSession())])
    expect((await stores.documents.forSessions([a.id, b.id])).map((row) => row.id)).toEqual([docA.id, docB.id])
    expect(await stores.documents.forSessions([])).toEqual([])
  })

  test('concurrent reads of several sessions\' documents (one statement on PostgreSQL) each get their own sessions\' live documents only, in upload order', async () => {
    const { stores } = use()
    const sessions = await Promise.all(Array.from({ length: 4 }, () => withSession()))
    const docs = sessions.map((owner) => [document(owner), document(owner)])
    await stores.documents.insert(docs.flat())
    // The first session's second document is deleted.
    expect(await stores.documents.softDelete(docs[0]![1]!.id, new Date())).toBe(true)
    const asks = [[sessions[0]!.id], [sessions[1]!.id, sessions[2]!.id], [sessions[3]!.id], [sessions[2]!.id], [newId()]]
    const [together, one] = await Promise.all([
      Promise.all(asks.map((ids) => stores.documents.forSessions(ids))),
      Promise.all(sessions.map((owner) => stores.documents.forSession(owner.id))),
    ])
    expect(together.map((rows) => rows.map((row) => row.id))).toEqual([
      [docs[0]![0]!.id],
      [docs[1]![0]!.id, docs[1]![1]!.id, docs[2]![0]!.id, docs[2]![1]!.id],
      [docs[3]![0]!.id, docs[3]![1]!.id],
      [docs[2]![0]!.id, docs[2]![1]!.id],
      [],
    ])
    expect(one.map((rows) => rows.map((row) => row.id))).toEqual([[docs[0]![0]!.id], ...docs.slice(1).map((pair) => pair.map((doc) => doc.id))])
    expect(together[2]![0]).toEqual(docs[3]![0]!)
  })

  test('extraction: pending → extracting (again on a retry) → extracted, then never back', async () => {
    const { stores } = use()
    const owner = await withSession()
    const row = document(owner)
    await stores.documents.insert([row])
    expect(await stores.documents.startExtracting(row.id, new Date())).toBe(true)
    await stores.documents.progress(row.id, 3, 10)
    expect(await stores.documents.find(row.id)).toMatchObject({ status: 'extracting', pagesDone: 3, pages: 10 })
    expect(await stores.documents.startExtracting(row.id, new Date())).toBe(true)
    expect(await stores.documents.finish(row.id, { status: 'extracted', pages: 10, chars: 31_000 }, new Date())).toBe(true)
    expect(await stores.documents.find(row.id)).toMatchObject({ status: 'extracted', pages: 10, pagesDone: 10, chars: 31_000, error: null })
    expect(await stores.documents.startExtracting(row.id, new Date())).toBe(false)
    expect(await stores.documents.finish(row.id, { status: 'failed', error: 'late' }, new Date())).toBe(false)
    await stores.documents.progress(row.id, 1, 10)
    expect((await stores.documents.find(row.id))?.pagesDone).toBe(10)
  })

  test('a failure keeps its reason; a deleted document takes no outcome', async () => {
    const { stores } = use()
    const owner = await withSession()
    const failed = document(owner)
    const deleted = document(owner)
    await stores.documents.insert([failed, deleted])
    expect(await stores.documents.finish(failed.id, { status: 'failed', error: '"scan.pdf" has no text layer.' }, new Date())).toBe(true)
    expect(await stores.documents.find(failed.id)).toMatchObject({ status: 'failed', error: '"scan.pdf" has no text layer.' })

    expect(await stores.documents.softDelete(deleted.id, new Date())).toBe(true)
    expect(await stores.documents.softDelete(deleted.id, new Date())).toBe(false)
    expect(await stores.documents.startExtracting(deleted.id, new Date())).toBe(false)
    expect(await stores.documents.finish(deleted.id, { status: 'extracted', pages: 1, chars: 1 }, new Date())).toBe(false)
    expect((await stores.documents.forSession(owner.id)).map((row) => row.id)).toEqual([failed.id])
    expect(await stores.documents.usage(owner.id)).toEqual({ files: 1, bytes: failed.bytes })
    expect((await stores.documents.allForSession(owner.id)).map((row) => row.id)).toEqual([failed.id, deleted.id])
  })

  test('removeForSession erases every row of the session, deleted ones too, and returns them', async () => {
    const { stores } = use()
    const owner = await withSession()
    const other = await withSession()
    const rows = [document(owner), document(owner, { deletedAt: new Date() })]
    const kept = document(other)
    await stores.documents.insert([...rows, kept])
    expect((await stores.documents.removeForSession(owner.id)).map((row) => row.id).sort()).toEqual(rows.map((row) => row.id).sort())
    expect(await stores.documents.allForSession(owner.id)).toEqual([])
    expect(await stores.documents.find(kept.id)).toEqual(kept)
  })

  test('writes inside a transaction that throws are rolled back', async () => {
    const { stores } = use()
    const owner = await withSession()
    const row = document(owner)
    await expect(
      stores.transaction(async (tx) => {
        await tx.documents.insert([row])
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(await stores.documents.find(row.id)).toBeUndefined()
  })
})
