/**
 * The roadmap: everyone with roadmap:read browses it (with the tickets linked
 * to each item that they may see); admins create, edit, reorder and delete.
 * Every change takes the ordering lock first and renumbers the phases it
 * touches to 0…n-1 inside the same transaction as its audit event, so
 * concurrent moves take turns and the order stays stable (ties: by id).
 */
import { isId, newId } from '../../../db/client'
import type { RoadmapItemRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Actor } from '../../../plugins/auth'
import type { RequestMeta } from '../../../plugins/rbac'
import { badRequest, notFound, unprocessable } from '../../errors'
import { renderMarkdown } from '../../markdown'
import type { Page } from '../../pagination'
import type { Stores, TxStores } from '../../stores'
import type { LinkedTicket, TicketViewer } from '../tickets/store'
import {
  DESCRIPTION_MAX,
  ROADMAP_STATUSES,
  TITLE_MAX,
  type Move,
  type RoadmapItemViewType,
  type RoadmapStatus,
} from './model'
import { PHASES, phaseRank, type BoardKey, type Phase, type RoadmapFilters } from './store'

export interface RoadmapDeps {
  stores: Stores
  audit: AuditLog
}

/** What create accepts: the API's typed body, or a page form's strings (checked here either way). */
export interface NewItemInput {
  title: string
  description?: string
  phase: string
  status?: string
  position?: number
}

export interface ItemChanges {
  title?: string
  description?: string
  phase?: string
  status?: string
  move?: Move
  position?: number
}

export interface BoardParams {
  limit: number
  after: BoardKey | null
}

const CURSOR = /^([0-9]+)\.([0-9]{1,9})\.([0-9a-f-]{36})$/

/** The board's cursor: the last row's sort key, opaque to clients. */
const boardCursor = (row: Pick<RoadmapItemRow, 'phase' | 'position' | 'id'>) =>
  Buffer.from(`${phaseRank(row.phase)}.${row.position}.${row.id}`).toString('base64url')

export function parseBoardCursor(cursor: string | undefined): BoardKey | null {
  if (!cursor) return null
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString())
  if (!match) throw badRequest('invalid_cursor', 'The cursor is not one this API issued; start again without it.')
  return { rank: Number(match[1]), position: Number(match[2]), id: match[3]! }
}

/** Who sees which linked tickets: triagers all of them, everyone else their own and the public ones. */
export const ticketViewer = (actor: Actor): TicketViewer => ({ userId: actor.userId, all: actor.permissions.has('tickets:update') })

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

const isPhase = (value: string): value is Phase => (PHASES as readonly string[]).includes(value)
const isStatus = (value: string): value is RoadmapStatus => (ROADMAP_STATUSES as readonly string[]).includes(value)

function checkTitle(raw: string): string {
  const title = raw.trim()
  if (!title) throw invalid('title', 'write a title')
  if (title.length > TITLE_MAX) throw invalid('title', `at most ${TITLE_MAX} characters (got ${title.length})`)
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(title)) throw invalid('title', 'remove the control characters')
  return title
}

function checkDescription(raw: string): string {
  const description = raw.replace(/\r\n/g, '\n').trim()
  if (description.length > DESCRIPTION_MAX) throw invalid('description', `at most ${DESCRIPTION_MAX} characters (got ${description.length})`)
  if (description.includes('\u0000')) throw invalid('description', 'remove the NUL character')
  return description
}

/** `ids` with `id` placed at `index` (clamped to the ends). */
function placeAt(ids: readonly string[], id: string, index: number): string[] {
  const rest = ids.filter((other) => other !== id)
  const at = Math.max(0, Math.min(index, rest.length))
  return [...rest.slice(0, at), id, ...rest.slice(at)]
}

function targetIndex(ids: readonly string[], id: string, move: Move): number {
  const now = ids.indexOf(id)
  if (move === 'up') return Math.max(0, now - 1)
  if (move === 'down') return now + 1
  return move === 'top' ? 0 : ids.length
}

/** Writes 0…n-1 over `ids`, touching only the rows whose stored position differs. */
async function renumber(tx: TxStores, ids: readonly string[], stored: ReadonlyMap<string, number>): Promise<void> {
  const changes = ids.map((id, position) => ({ id, position })).filter(({ id, position }) => stored.get(id) !== position)
  if (changes.length > 0) await tx.roadmap.setPositions(changes)
}

const positionsOf = (order: ReadonlyArray<{ id: string; position: number }>) => new Map(order.map((row) => [row.id, row.position]))

/**
 * @example
 * const roadmap = createRoadmapService({ stores, audit })
 * const page = await roadmap.list(actor, { phase: 'now' }, { limit: 25, after: null })
 */
export function createRoadmapService({ stores, audit }: RoadmapDeps) {
  const toView = (row: RoadmapItemRow, linked: readonly LinkedTicket[]): RoadmapItemViewType => ({
    id: row.id,
    title: row.title,
    description: row.description,
    description_html: renderMarkdown(row.description),
    phase: row.phase as Phase,
    status: row.status as RoadmapStatus,
    position: row.position,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_by: row.updatedBy,
    updated_at: row.updatedAt.toISOString(),
    tickets: linked
      .filter((ticket) => ticket.roadmapItemId === row.id)
      .map((ticket) => ({ id: ticket.id, title: ticket.title, status: ticket.status, kind: ticket.kind })),
  })

  const withTickets = async (actor: Actor, rows: RoadmapItemRow[]) => {
    const linked = await stores.tickets.linkedTo(
      rows.map((row) => row.id),
      ticketViewer(actor),
    )
    return rows.map((row) => toView(row, linked))
  }

  const view = async (actor: Actor, id: string): Promise<RoadmapItemViewType> => {
    const row = isId(id) ? await stores.roadmap.find(id) : undefined
    if (!row) throw notFound('Roadmap item')
    return (await withTickets(actor, [row]))[0]!
  }

  return {
    async list(actor: Actor, filters: RoadmapFilters, params: BoardParams): Promise<Page<RoadmapItemViewType>> {
      const q = filters.q?.trim()
      const rows = await stores.roadmap.page({ ...filters, q: q || undefined }, params.after, params.limit + 1)
      const hasMore = rows.length > params.limit
      const kept = hasMore ? rows.slice(0, params.limit) : rows
      const last = kept[kept.length - 1]
      return { items: await withTickets(actor, kept), next_cursor: hasMore && last ? boardCursor(last) : null, limit: params.limit }
    },

    get: view,

    /** Every item's id, title and phase in board order, for the triage form's choice of item. */
    outline: () => stores.roadmap.outline(),

    async create(actor: Actor, input: NewItemInput, meta: RequestMeta): Promise<RoadmapItemViewType> {
      const title = checkTitle(input.title)
      const description = checkDescription(input.description ?? '')
      if (!isPhase(input.phase)) throw invalid('phase', `one of ${PHASES.join(', ')}`)
      const status = input.status ?? 'planned'
      if (!isStatus(status)) throw invalid('status', `one of ${ROADMAP_STATUSES.join(', ')}`)
      const now = new Date()
      const row: RoadmapItemRow = {
        id: newId(),
        title,
        description,
        phase: input.phase,
        status,
        position: 0,
        createdBy: actor.userId,
        createdAt: now,
        updatedBy: actor.userId,
        updatedAt: now,
      }
      await stores.transaction(async (tx) => {
        await tx.roadmap.lockOrdering()
        const order = await tx.roadmap.orderOf(row.phase)
        const ids = placeAt(
          order.map((other) => other.id),
          row.id,
          input.position ?? order.length,
        )
        row.position = ids.indexOf(row.id)
        await tx.roadmap.insert(row)
        await renumber(tx, ids, new Map([...positionsOf(order), [row.id, row.position]]))
        await audit.record(
          { ...meta.audit, action: 'roadmap.create', target: `roadmap_item:${row.id}`, metadata: { phase: row.phase, status, position: row.position } },
          tx,
        )
      })
      return view(actor, row.id)
    },

    async update(actor: Actor, id: string, input: ItemChanges, meta: RequestMeta): Promise<RoadmapItemViewType> {
      if (!isId(id)) throw notFound('Roadmap item')
      if (input.move !== undefined && input.position !== undefined) throw invalid('move', 'give either move or position, not both')
      const fields: Partial<RoadmapItemRow> = {}
      if (input.title !== undefined) fields.title = checkTitle(input.title)
      if (input.description !== undefined) fields.description = checkDescription(input.description)
      if (input.status !== undefined) {
        if (!isStatus(input.status)) throw invalid('status', `one of ${ROADMAP_STATUSES.join(', ')}`)
        fields.status = input.status
      }
      if (input.phase !== undefined && !isPhase(input.phase)) throw invalid('phase', `one of ${PHASES.join(', ')}`)
      await stores.transaction(async (tx) => {
        await tx.roadmap.lockOrdering()
        const current = await tx.roadmap.find(id)
        if (!current) throw notFound('Roadmap item')
        const phase = input.phase ?? current.phase
        const moved = phase !== current.phase || input.move !== undefined || input.position !== undefined
        if (phase !== current.phase) fields.phase = phase
        await tx.roadmap.update(id, { ...fields, updatedBy: actor.userId, updatedAt: new Date() })
        let position = current.position
        if (moved) {
          // (The row's phase is written already, so a newcomer is in `order` at its stale position: start it last.)
          const order = await tx.roadmap.orderOf(phase)
          const others = order.map((row) => row.id).filter((other) => other !== id)
          const from = phase === current.phase ? order.map((row) => row.id) : [...others, id]
          const index = input.move ? targetIndex(from, id, input.move) : (input.position ?? from.length)
          const placed = placeAt(from, id, index)
          position = placed.indexOf(id)
          await renumber(tx, placed, positionsOf(order))
          if (phase !== current.phase) {
            const left = await tx.roadmap.orderOf(current.phase)
            await renumber(
              tx,
              left.map((row) => row.id),
              positionsOf(left),
            )
          }
        }
        await audit.record(
          {
            ...meta.audit,
            action: moved && Object.keys(fields).length === 0 ? 'roadmap.move' : 'roadmap.update',
            target: `roadmap_item:${id}`,
            metadata: {
              fields: Object.keys(fields),
              phase,
              status: fields.status ?? current.status,
              ...(moved ? { from: { phase: current.phase, position: current.position }, position } : {}),
            },
          },
          tx,
        )
      })
      return view(actor, id)
    },

    /** Deletes the item; the tickets linked to it stay, unlinked. */
    async remove(actor: Actor, id: string, meta: RequestMeta): Promise<void> {
      if (!isId(id)) throw notFound('Roadmap item')
      await stores.transaction(async (tx) => {
        await tx.roadmap.lockOrdering()
        const removed = await tx.roadmap.remove(id)
        if (!removed) throw notFound('Roadmap item')
        const left = await tx.roadmap.orderOf(removed.phase)
        await renumber(
          tx,
          left.map((row) => row.id),
          positionsOf(left),
        )
        const unlinked = await tx.tickets.unlinkRoadmapItem(id)
        await audit.record(
          {
            ...meta.audit,
            action: 'roadmap.delete',
            target: `roadmap_item:${id}`,
            metadata: { phase: removed.phase, status: removed.status, unlinked_tickets: unlinked },
          },
          tx,
        )
      })
    },
  }
}

type RoadmapService = ReturnType<typeof createRoadmapService>
