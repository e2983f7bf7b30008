/**
 * Server-side revocation of sign-in cookies (issue 14, finding 6). A sign-in
 * cookie is signed and carries its expiry, so on its own it would stay valid for
 * its 12 hours whatever happens; this is what makes logout, a change of the
 * person's role bindings and their erasure end it at once, on every instance.
 * A revocation ends every cookie of the person issued up to that instant (all
 * their browsers): the cookie names no session of its own to single out.
 */
import { createHmac } from 'node:crypto'
import { normaliseEmail, type SignInRevocationCheck } from '../../identity'
import type { Stores, TxStores } from '../../stores'

export interface SignInRevocations extends SignInRevocationCheck {
  /** Ends every sign-in cookie of `email` issued until now; within `tx`, it commits with the caller's change. */
  revoke(email: string, tx?: Pick<TxStores, 'signIns'>): Promise<void>
}

/**
 * @example
 * const signIns = createSignInRevocations(stores, config.auth.sessionSecret)
 * await signIns.revoke('ann@example.com')
 */
export function createSignInRevocations(stores: Pick<Stores, 'signIns'>, secret: string): SignInRevocations {
  // Keyed like erased_identities: an HMAC of the email, so the table names nobody.
  const subjectOf = (email: string) => createHmac('sha256', secret).update(`sign-in:${normaliseEmail(email)}`).digest('base64url')
  return {
    revokedAt: (email) => stores.signIns.revokedAt(subjectOf(email)),
    revoke: (email, tx) => (tx ?? stores).signIns.revoke(subjectOf(email), new Date()),
  }
}
