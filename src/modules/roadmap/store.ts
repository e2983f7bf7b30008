/**
 * Roadmap items. The contract suite is tests/unit/stores/roadmap-store.test.ts.
 * Board order is phase (now, next, later), then position, then id; reorders
 * read a phase's order and write new positions inside one transaction that
 * first takes `lockOrdering`, so concurrent moves take turns.
 */
import type { RoadmapItemRow } from '../../../db/schema'

export const PHASES = ['now', 'next', 'later'] as const
export type Phase = (typeof PHASES)[number]

export interface RoadmapFilters {
  phase?: Phase
  status?: string
  /** Part of the title or description, case-insensitive. */
  q?: string
}

/** Where a page of the board ends: the last row's sort key. */
export interface BoardKey {
  rank: number
  position: number
  id: string
}

/** A phase's place on the board; like the stores' SQL, anything unknown sorts last. */
export const phaseRank = (phase: string): number => {
  const rank = PHASES.indexOf(phase as Phase)
  return rank === -1 ? PHASES.length - 1 : rank
}

type RoadmapFields = Partial<Pick<RoadmapItemRow, 'title' | 'description' | 'phase' | 'status' | 'updatedBy' | 'updatedAt'>>

export interface RoadmapStore {
  insert(row: RoadmapItemRow): Promise<void>
  find(id: string): Promise<RoadmapItemRow | undefined>
  /** Items matching the filters in board order: `limit` of them after `after` (from the start when null). */
  page(filters: RoadmapFilters, after: BoardKey | null, limit: number): Promise<RoadmapItemRow[]>
  /** Titles and phases of the given items (for tickets that link to them). */
  titles(ids: readonly string[]): Promise<Array<Pick<RoadmapItemRow, 'id' | 'title' | 'phase'>>>
  /** Every item's id, title and phase in board order (a small table: the triage form's choices). */
  outline(): Promise<Array<Pick<RoadmapItemRow, 'id' | 'title' | 'phase'>>>
  update(id: string, fields: RoadmapFields): Promise<RoadmapItemRow | undefined>
  remove(id: string): Promise<RoadmapItemRow | undefined>
  /** A phase's items in order (position, then id), with their stored positions. */
  orderOf(phase: string): Promise<Array<{ id: string; position: number }>>
  /** Writes each row's position. */
  setPositions(changes: ReadonlyArray<{ id: string; position: number }>): Promise<void>
  /**
   * Held until the surrounding transaction ends; call it first in every transaction
   * that reorders. (PostgreSQL: an advisory transaction lock; SQLite transactions already take turns.)
   */
  lockOrdering(): Promise<void>
  count(): Promise<number>
}

/** LIKE pattern matching `text` anywhere in a lower()ed column; LIKE's own wildcards are taken literally (escape '\'). */
export const containsPattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
