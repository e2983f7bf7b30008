/**
 * Rows for store contract tests, every column filled with what a test does not
 * care about; a test names the fields it does care about.
 */
import { newId } from '../../db/client'
import type { SessionRow } from '../../db/schema'

/**
 * A live session of `userId`, created now and never run.
 * @example
 * await stores.sessions.insert(sessionRow('owner-1', { question: 'Why?' }))
 */
export function sessionRow(userId: string, fields: Partial<SessionRow> = {}): SessionRow {
  const now = new Date()
  return {
    id: newId(),
    userId,
    question: 'What should we decide?',
    paletteId: 'default',
    status: 'created',
    stage: null,
    partial: false,
    tokensIn: 0,
    tokensOut: 0,
    costMicroUsd: 0,
    error: null,
    webSearch: false,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    ...fields,
  }
}
