/**
 * Tickets: members file them (private to them until a triager makes them
 * public), see their own and the public ones, and comment on what they can see;
 * triagers (tickets:update) see all and set status, priority, visibility and
 * the roadmap link. The author may edit title and body while the ticket is
 * open. A ticket the caller may not see is "not found", never "forbidden".
 * Every write commits with its audit event; no title, body or comment text
 * goes into the audit metadata (only which fields changed and their sizes).
 */
import { isId, newId } from '../../../db/client'
import type { TicketCommentRow, TicketRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { RequestMeta } from '../../../plugins/rbac'
import { conflict, forbidden, notFound, unprocessable } from '../../errors'
import { renderMarkdown } from '../../markdown'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import { ticketViewer } from '../roadmap/service'
import {
  BODY_MAX,
  COMMENT_MAX,
  KINDS,
  TITLE_MAX,
  type CommentViewType,
  type Kind,
  type Priority,
  type Status,
  type TicketDetailView,
  type TicketSummaryView,
  type UpdateTicketInput,
} from './model'
import type { CommentWithAuthor, TicketFilters, TicketWithAuthor } from './store'

/** What create accepts: the API's typed body, or the page form's strings (checked here either way). */
export interface NewTicketInput {
  title: string
  body: string
  kind: string
}

export interface TicketsDeps {
  stores: Stores
  audit: AuditLog
}

/** How many comments the ticket itself carries; the rest are paged. */
const FIRST_COMMENTS = 100

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/

function checkTitle(raw: string): string {
  const title = raw.trim()
  if (!title) throw invalid('title', 'write a title')
  if (title.length > TITLE_MAX) throw invalid('title', `at most ${TITLE_MAX} characters (got ${title.length})`)
  if (CONTROL.test(title)) throw invalid('title', 'remove the control characters')
  return title
}

function checkText(field: string, raw: string, max: number, empty: string): string {
  const text = raw.replace(/\r\n/g, '\n').trim()
  if (!text) throw invalid(field, empty)
  if (text.length > max) throw invalid(field, `at most ${max} characters (got ${text.length})`)
  if (text.includes('\u0000')) throw invalid(field, 'remove the NUL character')
  return text
}

const toSummary = (row: TicketWithAuthor): TicketSummaryView => ({
  id: row.id,
  title: row.title,
  kind: row.kind as Kind,
  status: row.status as Status,
  priority: row.priority as Priority,
  public: row.public,
  roadmap_item_id: row.roadmapItemId,
  created_by: row.createdBy,
  author: row.authorEmail,
  created_at: row.createdAt.toISOString(),
  updated_at: row.updatedAt.toISOString(),
})

const toComment = (row: CommentWithAuthor): CommentViewType => ({
  id: row.id,
  ticket_id: row.ticketId,
  author_id: row.authorId,
  author: row.authorEmail,
  body: row.body,
  body_html: renderMarkdown(row.body),
  created_at: row.createdAt.toISOString(),
})

/** May the actor edit the title and body now? Triagers always; the author while the ticket is open. */
const canEdit = (actor: Actor, row: Pick<TicketRow, 'createdBy' | 'status'>) =>
  actor.permissions.has('tickets:update') || (row.createdBy === actor.userId && row.status === 'open' && actor.permissions.has('tickets:create'))

/**
 * @example
 * const tickets = createTicketsService({ stores, audit })
 * const ticket = await tickets.create(actor, { title: 'Export is slow', body: '…', kind: 'bug' }, meta)
 */
export function createTicketsService({ stores, audit }: TicketsDeps) {
  const visible = async (actor: Actor, id: string) => {
    const row = isId(id) ? await stores.tickets.findVisible(id, ticketViewer(actor)) : undefined
    if (!row) throw notFound('Ticket')
    return row
  }

  const commentsPage = async (ticketId: string, params: PageParams): Promise<Page<CommentViewType>> =>
    toPage(await stores.tickets.comments(ticketId, params.after, params.limit + 1), params, toComment)

  const detail = async (actor: Actor, row: TicketWithAuthor): Promise<TicketDetailView> => {
    const [comments, items] = await Promise.all([
      commentsPage(row.id, { limit: FIRST_COMMENTS, after: null }),
      row.roadmapItemId ? stores.roadmap.titles([row.roadmapItemId]) : Promise.resolve([]),
    ])
    const item = items[0]
    return {
      ...toSummary(row),
      body: row.body,
      body_html: renderMarkdown(row.body),
      updated_by: row.updatedBy,
      roadmap_item: item ? { id: item.id, title: item.title, phase: item.phase } : null,
      editable: canEdit(actor, row),
      comments,
    }
  }

  return {
    async create(actor: Actor, input: NewTicketInput, meta: RequestMeta): Promise<TicketDetailView> {
      const title = checkTitle(input.title)
      const body = checkText('body', input.body, BODY_MAX, 'describe the bug, feature or question')
      if (!(KINDS as readonly string[]).includes(input.kind)) throw invalid('kind', `one of ${KINDS.join(', ')}`)
      const now = new Date()
      const row: TicketRow = {
        id: newId(),
        title,
        body,
        kind: input.kind,
        status: 'open',
        priority: 'normal',
        public: false,
        roadmapItemId: null,
        createdBy: actor.userId,
        createdAt: now,
        updatedBy: null,
        updatedAt: now,
      }
      await stores.transaction(async (tx) => {
        await tx.tickets.insert(row)
        await audit.record(
          {
            ...meta.audit,
            action: 'ticket.create',
            target: `ticket:${row.id}`,
            metadata: { kind: row.kind, title_chars: title.length, body_chars: body.length },
          },
          tx,
        )
      })
      return detail(actor, { ...row, authorEmail: actor.email })
    },

    async list(actor: Actor, filters: TicketFilters, params: PageParams): Promise<Page<TicketSummaryView>> {
      const roadmapItemId = filters.roadmapItemId?.trim()
      if (roadmapItemId && !isId(roadmapItemId)) return { items: [], next_cursor: null, limit: params.limit }
      const rows = await stores.tickets.page(ticketViewer(actor), { ...filters, roadmapItemId: roadmapItemId || undefined }, params.after, params.limit + 1)
      return toPage(rows, params, toSummary)
    },

    async get(actor: Actor, id: string): Promise<TicketDetailView> {
      return detail(actor, await visible(actor, id))
    },

    async comments(actor: Actor, id: string, params: PageParams): Promise<Page<CommentViewType>> {
      await visible(actor, id)
      return commentsPage(id, params)
    },

    /**
     * Title and body: the author while open (409 ticket_locked after), or a triager.
     * Status, priority, visibility and the roadmap link: triagers only (403 for anyone else who can see the ticket).
     */
    async update(actor: Actor, id: string, input: UpdateTicketInput, meta: RequestMeta): Promise<TicketDetailView> {
      const row = await visible(actor, id)
      const triager = actor.permissions.has('tickets:update')
      const triage = (['status', 'priority', 'public', 'roadmap_item_id'] as const).filter((field) => input[field] !== undefined)
      if (triage.length > 0 && !triager)
        throw forbidden(`Only triagers (tickets:update) can change ${triage.join(', ')}; the author may edit the title and body while the ticket is open.`)
      const fields: Partial<TicketRow> = {}
      if (input.title !== undefined || input.body !== undefined) {
        if (!triager && row.createdBy !== actor.userId) throw forbidden('Only the person who filed this ticket (or a triager) can edit it; add a comment instead.')
        if (!canEdit(actor, row))
          throw conflict('ticket_locked', `This ticket is ${row.status.replace('_', ' ')}; its title and body can only be edited while it is open. Add a comment instead.`)
        if (input.title !== undefined) fields.title = checkTitle(input.title)
        if (input.body !== undefined) fields.body = checkText('body', input.body, BODY_MAX, 'describe the bug, feature or question')
      }
      if (input.status !== undefined) fields.status = input.status
      if (input.priority !== undefined) fields.priority = input.priority
      if (input.public !== undefined) fields.public = input.public
      if (input.roadmap_item_id !== undefined) {
        const itemId = input.roadmap_item_id?.trim() || null
        if (itemId && (!isId(itemId) || (await stores.roadmap.titles([itemId])).length === 0))
          throw invalid('roadmap_item_id', 'no roadmap item has this id')
        fields.roadmapItemId = itemId
      }
      const changed = (Object.keys(fields) as Array<keyof TicketRow>).filter((key) => fields[key] !== row[key])
      if (changed.length === 0) return detail(actor, row)
      const updatedAt = new Date()
      await stores.transaction(async (tx) => {
        await tx.tickets.update(id, { ...fields, updatedBy: actor.userId, updatedAt })
        await audit.record(
          {
            ...meta.audit,
            action: 'ticket.update',
            target: `ticket:${id}`,
            metadata: {
              fields: changed,
              // Triage values are labels, not content; title and body are named only.
              ...(fields.status !== undefined ? { status: fields.status, previous_status: row.status } : {}),
              ...(fields.priority !== undefined ? { priority: fields.priority } : {}),
              ...(fields.public !== undefined ? { public: fields.public } : {}),
              ...(fields.roadmapItemId !== undefined ? { roadmap_item_id: fields.roadmapItemId } : {}),
              ...(fields.body !== undefined ? { body_chars: fields.body.length } : {}),
            },
          },
          tx,
        )
      })
      return detail(actor, { ...row, ...fields, updatedBy: actor.userId, updatedAt })
    },

    async comment(actor: Actor, id: string, input: { body: string }, meta: RequestMeta): Promise<CommentViewType> {
      const ticket = await visible(actor, id)
      const body = checkText('body', input.body, COMMENT_MAX, 'write a comment')
      const row: TicketCommentRow = { id: newId(), ticketId: ticket.id, authorId: actor.userId, body, createdAt: new Date() }
      await stores.transaction(async (tx) => {
        await tx.tickets.insertComment(row)
        await audit.record(
          { ...meta.audit, action: 'ticket.comment', target: `ticket:${ticket.id}`, metadata: { comment_id: row.id, body_chars: body.length } },
          tx,
        )
      })
      return toComment({ ...row, authorEmail: actor.email })
    },
  }
}

type TicketsService = ReturnType<typeof createTicketsService>
