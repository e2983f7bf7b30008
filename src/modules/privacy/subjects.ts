/**
 * The two derived names an erasure leaves behind, both HMACs under
 * SESSION_SECRET so neither leads back to the person without the secret and
 * their identifiers: the pseudonym that replaces them in the audit trail and
 * in kept rows (stable: the same user always gets the same one), and the
 * subject of the erased_identities row that refuses their old sign-in cookies.
 */
import { createHmac } from 'node:crypto'
import { normaliseEmail } from '../../identity'

const mac = (secret: string, value: string) => createHmac('sha256', secret).update(value).digest('hex')

/**
 * @example
 * pseudonymOf(config.auth.sessionSecret, userId) // 'erased:3f1c0a…' (24 hex digits)
 */
export const pseudonymOf = (secret: string, userId: string): string => `erased:${mac(secret, `pseudonym:${userId}`).slice(0, 24)}`

/** The erased_identities subject of an email. */
export const erasureSubjectOf = (secret: string, email: string): string => mac(secret, `erased-identity:${normaliseEmail(email)}`)
