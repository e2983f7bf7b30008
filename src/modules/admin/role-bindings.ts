/**
 * Role bindings: who holds which role beyond `user`. Admins list, grant and
 * revoke them; each change is written together with its audit event in one
 * transaction, and clears the identity cache so it applies on the next request;
 * it also ends the person's sign-in cookies (issue 14, finding 6).
 * The last `admin` binding cannot be removed, so an install never locks itself out.
 */
import type { SignInRevocations } from '../auth/revocations'
import { isId, newId } from '../../../db/client'
import type { AuditLog } from '../../../plugins/audit'
import type { RequestMeta } from '../../../plugins/rbac'
import { MATRIX } from '../../../plugins/rbac/matrix'
import { conflict, notFound, unprocessable } from '../../errors'
import { isEmail, normaliseEmail, type Actor } from '../../identity'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import type { IdentityService } from '../identity/service'
import type { BoundRole, RoleBindingFilters } from '../identity/store'
import { ROLE_PATTERN, type RoleBindingViewType } from './model'

export type { RoleBindingFilters } from '../identity/store'

export interface RoleBindingsDeps {
  stores: Stores
  audit: AuditLog
  identity: IdentityService
  /** Ends the person's sign-in cookies when their roles change: they sign in again under the new ones. */
  signIns: Pick<SignInRevocations, 'revoke'>
  agentRoleAllowlist: readonly string[]
}

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

const toView = (row: BoundRole): RoleBindingViewType => ({
  id: row.id,
  user_id: row.userId,
  email: row.email,
  role: row.role,
  created_by: row.createdBy,
  created_at: row.createdAt.toISOString(),
})

/**
 * @example
 * const bindings = createRoleBindingsService({ stores, audit, identity, agentRoleAllowlist })
 * await bindings.create(actor, { email: 'ann@example.com', role: 'auditor' }, meta)
 */
export function createRoleBindingsService({ stores, audit, identity, signIns, agentRoleAllowlist }: RoleBindingsDeps) {
  return {
    /** Roles worth offering in a form: the matrix's and the agent allowlist's (`user` is implicit). */
    knownRoles(): string[] {
      return [...new Set([...Object.keys(MATRIX), ...agentRoleAllowlist])].filter((role) => role !== 'user')
    },

    async list(filters: RoleBindingFilters, params: PageParams): Promise<Page<RoleBindingViewType>> {
      return toPage(await stores.identity.listBindings(filters, params.after, params.limit + 1), params, toView)
    },

    /** Grants a role by email, creating the person on first sight; 409 role_binding_exists when they hold it. */
    async create(actor: Actor, input: { email: string; role: string }, meta: RequestMeta): Promise<RoleBindingViewType> {
      const email = normaliseEmail(input.email)
      const role = input.role.trim()
      if (!isEmail(email)) throw invalid('email', 'must be an email address')
      if (!ROLE_PATTERN.test(role))
        throw invalid('role', 'must start with a letter and hold up to 64 letters, digits, _ : or -')
      if (role === 'user') throw invalid('role', 'every signed-in person already holds "user"; bind another role')
      const created = await stores.transaction(async (tx) => {
        const userId = await identity.ensureUser(email, meta.audit, tx)
        const row: BoundRole = { id: newId(), userId, email, role, createdBy: actor.email, createdAt: new Date() }
        if (!(await tx.identity.bind(row))) return undefined
        await signIns.revoke(email, tx)
        await audit.record(
          { ...meta.audit, action: 'role_binding.create', target: `user:${userId}`, metadata: { email, role } },
          tx,
        )
        return row
      })
      if (!created) throw conflict('role_binding_exists', `${email} already holds the role "${role}".`)
      identity.invalidate()
      return toView(created)
    },

    /** Removes a binding; 404 for an unknown id, 409 last_admin for the only admin binding left. */
    async remove(actor: Actor, id: string, meta: RequestMeta): Promise<RoleBindingViewType> {
      if (!isId(id)) throw notFound('Role binding')
      const removed = await stores.transaction(async (tx) => {
        const outcome = await tx.identity.unbind(id, 'admin')
        if (!outcome) throw notFound('Role binding')
        if ('refused' in outcome)
          throw conflict(
            'last_admin',
            `${outcome.refused.email} holds the last admin binding; grant admin to someone else before removing it.`,
          )
        const found = outcome.removed
        await signIns.revoke(found.email, tx)
        await audit.record(
          {
            ...meta.audit,
            action: 'role_binding.delete',
            target: `user:${found.userId}`,
            metadata: { email: found.email, role: found.role },
          },
          tx,
        )
        return found
      })
      identity.invalidate()
      return toView(removed)
    },
  }
}

type RoleBindingsService = ReturnType<typeof createRoleBindingsService>
