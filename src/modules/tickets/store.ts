/**
 * Tickets and their comments. The contract suite is
 * tests/unit/stores/ticket-store.test.ts. Reads take the viewer: a member sees
 * their own tickets and the public ones; `all` (triagers) sees every ticket.
 */
import type { TicketCommentRow, TicketRow } from '../../../db/schema'

export interface TicketViewer {
  userId: string
  /** Sees every ticket, public or not (holders of tickets:update). */
  all: boolean
}

export interface TicketFilters {
  status?: string
  kind?: string
  /** Only the viewer's own. */
  mine?: boolean
  roadmapItemId?: string
}

/** A ticket with its author's email (null when the user row is gone). */
export type TicketWithAuthor = TicketRow & { authorEmail: string | null }
export type CommentWithAuthor = TicketCommentRow & { authorEmail: string | null }
export type LinkedTicket = Pick<TicketRow, 'id' | 'title' | 'status' | 'kind' | 'roadmapItemId'>

type TicketFields = Partial<
  Pick<TicketRow, 'title' | 'body' | 'status' | 'priority' | 'public' | 'roadmapItemId' | 'updatedBy' | 'updatedAt'>
>

export interface TicketStore {
  insert(row: TicketRow): Promise<void>
  /** The ticket if the viewer may see it, else undefined (missing and hidden look the same). */
  findVisible(id: string, viewer: TicketViewer): Promise<TicketWithAuthor | undefined>
  /** Visible tickets matching the filters, newest first: `limit` of them with ids below `after`. */
  page(viewer: TicketViewer, filters: TicketFilters, after: string | null, limit: number): Promise<TicketWithAuthor[]>
  /** Visible tickets linked to any of the roadmap items, oldest first. */
  linkedTo(itemIds: readonly string[], viewer: TicketViewer): Promise<LinkedTicket[]>
  update(id: string, fields: TicketFields): Promise<TicketRow | undefined>
  /** Clears the link of every ticket pointing at the roadmap item; returns how many. */
  unlinkRoadmapItem(itemId: string): Promise<number>
  insertComment(row: TicketCommentRow): Promise<void>
  /** A ticket's comments, oldest first: `limit` of them with ids above `after`. */
  comments(ticketId: string, after: string | null, limit: number): Promise<CommentWithAuthor[]>
}
