/**
 * How users and their role bindings are kept. The contract suite is
 * tests/unit/stores/identity-store.test.ts (libsql and PostgreSQL).
 */
import type { RoleBindingRow, UserRow } from '../../../db/schema'

/** A role binding with the email of the person holding it. */
export type BoundRole = RoleBindingRow & Pick<UserRow, 'email'>

export interface RoleBindingFilters {
  /** Part of the email, case-insensitive; LIKE wildcards match themselves. */
  user?: string
  /** Exact role. */
  role?: string
}

/** What `unbind` did: removed the binding, refused (the last of its role), or found nothing. */
type Unbound = { removed: BoundRole } | { refused: BoundRole } | undefined

export interface IdentityStore {
  userIdByExternalId(externalId: string): Promise<string | undefined>
  /** The oldest user with this (normalised) email: any sign-in path may have created them. */
  userIdByEmail(email: string): Promise<string | undefined>
  /** Adds the user unless one with the same external id exists; true when this call added it (of concurrent callers, one). */
  insertUser(row: UserRow): Promise<boolean>
  /** insertUser() of several users in one statement; the ids of the rows this call added. */
  insertUsers(rows: readonly UserRow[]): Promise<Set<string>>
  /** The roles bound to a user, in alphabetical order. */
  rolesOf(userId: string): Promise<string[]>
  /** Adds the binding unless the user already holds the role; true when added. */
  bind(row: RoleBindingRow): Promise<boolean>
  /** Bindings newest first (by id): up to `limit` with ids below `after` (from the newest when null). */
  listBindings(filters: RoleBindingFilters, after: string | null, limit: number): Promise<BoundRole[]>
  /**
   * Removes a binding unless it is the last binding of `keepLast` (an install must
   * keep one admin). Removals of such bindings take turns, so concurrent ones can
   * never leave none.
   */
  unbind(id: string, keepLast: string): Promise<Unbound>
}
