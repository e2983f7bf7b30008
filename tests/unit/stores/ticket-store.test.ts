/** The ticket store's contract (tickets and their comments), on libsql and on PostgreSQL. */
import { expect, test } from 'bun:test'
import { newId } from '../../../db/client'
import type { TicketCommentRow, TicketRow } from '../../../db/schema'
import type { TicketViewer } from '../../../src/modules/tickets/store'
import { eachDialect } from '../../helpers/databases'

const ticket = (createdBy: string, fields: Partial<TicketRow> = {}): TicketRow => {
  const now = new Date()
  return {
    id: newId(),
    title: 'Export is slow — «unicode» \'quotes\'',
    body: 'It takes **minutes**.',
    kind: 'bug',
    status: 'open',
    priority: 'normal',
    public: false,
    roadmapItemId: null,
    createdBy,
    createdAt: now,
    updatedBy: null,
    updatedAt: now,
    ...fields,
  }
}

const comment = (ticketId: string, authorId: string, body = 'Me too'): TicketCommentRow => ({
  id: newId(),
  ticketId,
  authorId,
  body,
  createdAt: new Date(),
})

const member = (userId: string): TicketViewer => ({ userId, all: false })
const triager: TicketViewer = { userId: 'admin', all: true }

eachDialect('ticket store', (use) => {
  test('a member sees their own tickets and public ones; a triager sees all', async () => {
    const { stores } = use()
    const [ann, bob] = [`ann-${newId()}`, `bob-${newId()}`]
    const own = ticket(ann)
    const hidden = ticket(bob)
    const shared = ticket(bob, { public: true })
    for (const row of [own, hidden, shared]) await stores.tickets.insert(row)
    expect(await stores.tickets.findVisible(own.id, member(ann))).toEqual({ ...own, authorEmail: null })
    expect(await stores.tickets.findVisible(hidden.id, member(ann))).toBeUndefined()
    expect((await stores.tickets.findVisible(shared.id, member(ann)))?.id).toBe(shared.id)
    expect((await stores.tickets.findVisible(hidden.id, triager))?.id).toBe(hidden.id)
    expect(await stores.tickets.findVisible(newId(), triager)).toBeUndefined()
  })

  test('the author email comes from the users table', async () => {
    const { stores, db } = use()
    const userId = newId()
    const email = `author-${userId}@example.com`
    const values = { id: userId, externalId: email, email, createdAt: new Date() }
    // (No users store yet; the identity package adds one.)
    if (db.handle.dialect === 'pg') await db.handle.orm.insert(db.handle.t.users).values(values)
    else await db.handle.orm.insert(db.handle.t.users).values(values)
    const row = ticket(userId)
    await stores.tickets.insert(row)
    expect((await stores.tickets.findVisible(row.id, member(userId)))?.authorEmail).toBe(email)
  })

  test('pages are newest first, keyed by id, visible only, with filters', async () => {
    const { stores } = use()
    const [ann, bob] = [`ann-${newId()}`, `bob-${newId()}`]
    const item = newId()
    const rows = [
      ticket(ann, { kind: 'feature', roadmapItemId: item }),
      ticket(bob, { public: true, status: 'triaged', roadmapItemId: item }),
      ticket(bob),
      ticket(ann, { status: 'done' }),
      ticket(ann),
    ]
    for (const row of rows) await stores.tickets.insert(row)
    const mine = await stores.tickets.page(member(ann), { mine: true }, null, 10)
    expect(mine.map((r) => r.id)).toEqual([rows[4]!.id, rows[3]!.id, rows[0]!.id])
    const first = await stores.tickets.page(member(ann), { roadmapItemId: item }, null, 1)
    expect(first.map((r) => r.id)).toEqual([rows[1]!.id])
    const next = await stores.tickets.page(member(ann), { roadmapItemId: item }, first[0]!.id, 10)
    expect(next.map((r) => r.id)).toEqual([rows[0]!.id])
    expect((await stores.tickets.page(member(ann), { roadmapItemId: item, kind: 'feature' }, null, 10)).map((r) => r.id)).toEqual([rows[0]!.id])
    expect((await stores.tickets.page(member(ann), { mine: true, status: 'done' }, null, 10)).map((r) => r.id)).toEqual([rows[3]!.id])
    const everyone = await stores.tickets.page(triager, { roadmapItemId: item }, null, 10)
    expect(everyone).toHaveLength(2)
    expect((await stores.tickets.page(member(ann), {}, null, 200)).map((r) => r.id)).not.toContain(rows[2]!.id)
  })

  test('linkedTo lists the visible tickets of the items; unlinkRoadmapItem clears them', async () => {
    const { stores } = use()
    const [ann, bob] = [`ann-${newId()}`, `bob-${newId()}`]
    const [one, two] = [newId(), newId()]
    const rows = [ticket(ann, { roadmapItemId: one }), ticket(bob, { roadmapItemId: one }), ticket(bob, { roadmapItemId: two, public: true })]
    for (const row of rows) await stores.tickets.insert(row)
    expect(await stores.tickets.linkedTo([], member(ann))).toEqual([])
    const seen = await stores.tickets.linkedTo([one, two], member(ann))
    expect(seen.map((r) => r.id)).toEqual([rows[0]!.id, rows[2]!.id])
    expect(seen[0]).toEqual({ id: rows[0]!.id, title: rows[0]!.title, status: 'open', kind: 'bug', roadmapItemId: one })
    expect(await stores.tickets.linkedTo([one], triager)).toHaveLength(2)
    expect(await stores.tickets.unlinkRoadmapItem(one)).toBe(2)
    expect(await stores.tickets.linkedTo([one], triager)).toEqual([])
  })

  test('update writes the fields and answers the row; an unknown id answers undefined', async () => {
    const { stores } = use()
    const row = ticket('ann')
    await stores.tickets.insert(row)
    const at = new Date(row.updatedAt.getTime() + 5)
    const updated = await stores.tickets.update(row.id, { status: 'triaged', priority: 'high', public: true, updatedBy: 'admin', updatedAt: at })
    expect(updated).toEqual({ ...row, status: 'triaged', priority: 'high', public: true, updatedBy: 'admin', updatedAt: at })
    expect(await stores.tickets.update(newId(), { status: 'done' })).toBeUndefined()
  })

  test('comments come oldest first, paged by id, with the author email', async () => {
    const { stores } = use()
    const row = ticket('ann')
    await stores.tickets.insert(row)
    const written = [comment(row.id, 'ann', 'first'), comment(row.id, 'bob', 'second'), comment(row.id, 'ann', 'third')]
    for (const c of written) await stores.tickets.insertComment(c)
    await stores.tickets.insertComment(comment(newId(), 'ann', 'elsewhere'))
    const first = await stores.tickets.comments(row.id, null, 2)
    expect(first.map((c) => c.body)).toEqual(['first', 'second'])
    expect(first[0]).toEqual({ ...written[0]!, authorEmail: null })
    expect((await stores.tickets.comments(row.id, first[1]!.id, 10)).map((c) => c.body)).toEqual(['third'])
  })
})
