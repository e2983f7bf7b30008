/** Tickets and comments, on either dialect: the same queries run on both (db/portable.ts). */
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, or, type SQL } from 'drizzle-orm'
import type { Portable } from '../../../db/portable'
import type { TicketStore, TicketViewer } from './store'

/**
 * @example
 * const tickets = createTicketStore(pgPortable(db.handle.orm))
 */
export function createTicketStore({ db, t }: Portable): TicketStore {
  const { ticketComments: comments, tickets, users } = t
  const visibleTo = (viewer: TicketViewer): SQL | undefined =>
    viewer.all ? undefined : or(eq(tickets.createdBy, viewer.userId), eq(tickets.public, true))
  const withAuthor = () =>
    db
      .select({ ...getTableColumns(tickets), authorEmail: users.email })
      .from(tickets)
      .leftJoin(users, eq(users.id, tickets.createdBy))

  return {
    async insert(row) {
      await db.insert(tickets).values(row)
    },
    async findVisible(id, viewer) {
      return (await withAuthor().where(and(eq(tickets.id, id), visibleTo(viewer))).limit(1))[0]
    },
    page(viewer, filters, after, limit) {
      return withAuthor()
        .where(
          and(
            visibleTo(viewer),
            filters.status ? eq(tickets.status, filters.status) : undefined,
            filters.kind ? eq(tickets.kind, filters.kind) : undefined,
            filters.mine ? eq(tickets.createdBy, viewer.userId) : undefined,
            filters.roadmapItemId ? eq(tickets.roadmapItemId, filters.roadmapItemId) : undefined,
            after ? lt(tickets.id, after) : undefined,
          ),
        )
        .orderBy(desc(tickets.id))
        .limit(limit)
    },
    async linkedTo(itemIds, viewer) {
      if (itemIds.length === 0) return []
      return db
        .select({ id: tickets.id, title: tickets.title, status: tickets.status, kind: tickets.kind, roadmapItemId: tickets.roadmapItemId })
        .from(tickets)
        .where(and(inArray(tickets.roadmapItemId, [...itemIds]), visibleTo(viewer)))
        .orderBy(asc(tickets.id))
    },
    async update(id, fields) {
      return (await db.update(tickets).set(fields).where(eq(tickets.id, id)).returning())[0]
    },
    async unlinkRoadmapItem(itemId) {
      const rows = await db.update(tickets).set({ roadmapItemId: null }).where(eq(tickets.roadmapItemId, itemId)).returning({ id: tickets.id })
      return rows.length
    },
    async insertComment(row) {
      await db.insert(comments).values(row)
    },
    comments(ticketId, after, limit) {
      return db
        .select({ ...getTableColumns(comments), authorEmail: users.email })
        .from(comments)
        .leftJoin(users, eq(users.id, comments.authorId))
        .where(and(eq(comments.ticketId, ticketId), after ? gt(comments.id, after) : undefined))
        .orderBy(asc(comments.id))
        .limit(limit)
    },
  }
}
