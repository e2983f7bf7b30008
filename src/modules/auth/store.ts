/**
 * Revoked sign-ins (issue 14, finding 6): when a person's sign-in cookies stop
 * counting. The contract suite is tests/unit/stores/sign-in-store.test.ts
 * (libsql and PostgreSQL).
 */

export interface SignInStore {
  /**
   * Every sign-in cookie of `subject` issued at or before `at` is refused from now on.
   * A later revocation moves the instant forward; an earlier one (another instance's
   * clock) never moves it back.
   */
  revoke(subject: string, at: Date): Promise<void>
  /** The instant up to which `subject`'s sign-ins are revoked, or null when never. */
  revokedAt(subject: string): Promise<Date | null>
}
