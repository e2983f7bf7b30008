/**
 * Erasure's rewrite of one audit event: the erased person's user id and email
 * become their pseudonym wherever they appear (actor, actor id, target,
 * metadata), and the ip of their own requests is dropped. What was done, when,
 * by which role, on which (opaque) ids stays, so the trail still reads.
 */
import type { AuditEventRow } from '../../db/schema'
import type { AuditSubject } from './types'

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The email as a whole address: `ann@example.com` is not inside `joann@example.com` or `ann@example.com.au`. */
const mentionOf = (email: string) => new RegExp(`(?<![A-Za-z0-9._%+-])${escape(email)}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`, 'gi')

/**
 * @example
 * pseudonymiseEvent(row, { userId, email: 'ann@example.com' }, 'erased:5f0c…')
 */
export function pseudonymiseEvent(row: AuditEventRow, subject: AuditSubject, pseudonym: string): AuditEventRow {
  const email = mentionOf(subject.email)
  const swap = (text: string) => text.split(subject.userId).join(pseudonym).replace(email, pseudonym)
  const own = row.actorId === subject.userId || row.actor === subject.email
  return {
    ...row,
    actorId: row.actorId === null ? null : swap(row.actorId),
    actor: row.actor === null ? null : swap(row.actor),
    target: row.target === null ? null : swap(row.target),
    ip: own ? null : row.ip,
    metadata: row.metadata === null ? null : (JSON.parse(swap(JSON.stringify(row.metadata))) as Record<string, unknown>),
  }
}
