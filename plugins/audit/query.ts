/**
 * The WHERE clause of an AuditQuery, shared by both stores: the columns have
 * the same names and meaning in either dialect (tests/unit/schema-parity.test.ts),
 * and these operators and LIKE … ESCAPE read the same in libsql and PostgreSQL.
 */
import { and, eq, gte, lt, sql, type Column, type SQL } from 'drizzle-orm'
import type { AuditQuery, TextMatch } from './types'

type AuditColumns = Record<'id' | 'at' | 'actorId' | 'actor' | 'action' | 'target' | 'requestId', Column>

/** LIKE's own wildcards (and the escape character) taken literally. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

const matches = (column: Column, match: TextMatch): SQL =>
  'equals' in match ? eq(column, match.equals) : sql`${column} like ${`${escapeLike(match.prefix)}%`} escape '\\'`

export function auditWhere(columns: AuditColumns, query: AuditQuery): SQL | undefined {
  const conditions: SQL[] = []
  if (query.since) conditions.push(gte(columns.at, query.since))
  if (query.until) conditions.push(lt(columns.at, query.until))
  if (query.actorId !== undefined) conditions.push(eq(columns.actorId, query.actorId))
  if (query.actorContains !== undefined)
    conditions.push(sql`lower(${columns.actor}) like ${`%${escapeLike(query.actorContains.toLowerCase())}%`} escape '\\'`)
  if (query.action) conditions.push(matches(columns.action, query.action))
  if (query.target) conditions.push(matches(columns.target, query.target))
  if (query.requestId !== undefined) conditions.push(eq(columns.requestId, query.requestId))
  if (query.before) conditions.push(lt(columns.id, query.before))
  return and(...conditions)
}
