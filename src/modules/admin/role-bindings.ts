/**
 * Role bindings: who holds which role beyond `user`. Admins list, grant and
 * revoke them; each change is written together with its audit event in one
 * transaction, and clears the identity cache so it applies on the next request.
 * The last `admin` binding cannot be removed, so an install never locks itself out.
 */
import { and, desc, eq, lt, sql, type SQL } from 'drizzle-orm'
import { legacyAuditWithin } from '../../stores'
import { isId, newId, type Database, type Tx } from '../../../db/client'
import type { Actor } from '../../../plugins/auth'
import type { RequestMeta } from '../../../plugins/rbac'
import { MATRIX } from '../../../plugins/rbac/matrix'
import { conflict, notFound, unprocessable } from '../../errors'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { AuditLog } from '../../../plugins/audit'
import type { IdentityService } from '../identity/service'
import { ROLE_PATTERN, type RoleBindingViewType } from './model'

/** The same shape the sign-in paths accept (plugins/auth); an address that could never sign in is refused. */
const EMAIL = /^[^\s@<>"'\u0000]{1,64}@[^\s@<>"'\u0000]{1,190}$/

/** LIKE's own wildcards (and its escape character) taken literally; pair with `escape '\\'`. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`)

/** LIKE pattern matching `text` anywhere, case-insensitively against a lower()ed column. */
export const containsPattern = (text: string) => `%${escapeLike(text.toLowerCase())}%`

export interface RoleBindingFilters {
  /** Part of the email, case-insensitive. */
  user?: string
  /** Exact role. */
  role?: string
}

export interface RoleBindingsDeps {
  db: Database
  audit: AuditLog
  identity: IdentityService
  agentRoleAllowlist: readonly string[]
}

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

/**
 * @example
 * const bindings = createRoleBindingsService({ db, audit, identity, agentRoleAllowlist })
 * await bindings.create(actor, { email: 'ann@example.com', role: 'auditor' }, meta)
 */
export function createRoleBindingsService({ db, audit, identity, agentRoleAllowlist }: RoleBindingsDeps) {
  const { roleBindings, users } = db.t

  const columns = {
    id: roleBindings.id,
    userId: roleBindings.userId,
    email: users.email,
    role: roleBindings.role,
    createdBy: roleBindings.createdBy,
    createdAt: roleBindings.createdAt,
  }
  type Row = { id: string; userId: string; email: string; role: string; createdBy: string | null; createdAt: Date }
  const toView = (row: Row): RoleBindingViewType => ({
    id: row.id,
    user_id: row.userId,
    email: row.email,
    role: row.role,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
  })


  /**
   * On PostgreSQL two admins removing two different admin bindings at once could
   * each see the other's still standing and leave none; a transaction-scoped
   * advisory lock makes such changes take turns. (SQLite writes are already serialised.)
   */
  const lockAdminBindings = async (tx: Tx) => {
    if (db.dialect !== 'pg') return
    const pgTx = tx as unknown as { execute(query: SQL): Promise<unknown> }
    await pgTx.execute(sql`select pg_advisory_xact_lock(hashtext('role_bindings:admin'))`)
  }

  return {
    /** Roles worth offering in a form: the matrix's and the agent allowlist's (`user` is implicit). */
    knownRoles(): string[] {
      return [...new Set([...Object.keys(MATRIX), ...agentRoleAllowlist])].filter((role) => role !== 'user')
    },

    async list(filters: RoleBindingFilters, params: PageParams): Promise<Page<RoleBindingViewType>> {
      const conditions: SQL[] = []
      if (filters.user?.trim()) conditions.push(sql`lower(${users.email}) like ${containsPattern(filters.user.trim())} escape '\\'`)
      if (filters.role?.trim()) conditions.push(eq(roleBindings.role, filters.role.trim()))
      if (params.after) conditions.push(lt(roleBindings.id, params.after))
      const rows = await db.orm
        .select(columns)
        .from(roleBindings)
        .innerJoin(users, eq(users.id, roleBindings.userId))
        .where(and(...conditions))
        .orderBy(desc(roleBindings.id))
        .limit(params.limit + 1)
      return toPage(rows, params, toView)
    },

    async create(actor: Actor, input: { email: string; role: string }, meta: RequestMeta): Promise<RoleBindingViewType> {
      const email = input.email.trim().toLowerCase()
      const role = input.role.trim()
      if (!EMAIL.test(email)) throw invalid('email', 'must be an email address')
      if (!ROLE_PATTERN.test(role))
        throw invalid('role', 'must start with a letter and hold up to 64 letters, digits, _ : or -')
      if (role === 'user') throw invalid('role', 'every signed-in person already holds "user"; bind another role')
      const fields = meta.audit
      const userId = await identity.ensureUser(email, {
        requestId: meta.requestId,
        ip: meta.ip,
        by: { actorId: actor.userId, actor: fields.actor, role: fields.role },
      })
      const row: Row = { id: newId(), userId, email, role, createdBy: actor.email, createdAt: new Date() }
      const created = await db.orm.transaction(async (tx) => {
        const inserted = await tx
          .insert(roleBindings)
          .values({ id: row.id, userId, role, createdBy: row.createdBy, createdAt: row.createdAt })
          .onConflictDoNothing()
          .returning({ id: roleBindings.id })
        if (inserted.length === 0) return false
        await audit.record(
          { ...fields, action: 'role_binding.create', target: `user:${userId}`, metadata: { email: row.email, role } },
          legacyAuditWithin(db, tx),
        )
        return true
      })
      if (!created) throw conflict('role_binding_exists', `${row.email} already holds the role "${role}".`)
      identity.invalidate()
      return toView(row)
    },

    /** Removes a binding; 404 for an unknown id, 409 last_admin for the only admin binding left. */
    async remove(actor: Actor, id: string, meta: RequestMeta): Promise<RoleBindingViewType> {
      if (!isId(id)) throw notFound('Role binding')
      const removed = await db.orm.transaction(async (tx) => {
        const [found] = await tx
          .select(columns)
          .from(roleBindings)
          .innerJoin(users, eq(users.id, roleBindings.userId))
          .where(eq(roleBindings.id, id))
          .limit(1)
        if (!found) throw notFound('Role binding')
        if (found.role === 'admin') {
          await lockAdminBindings(tx)
          const [{ count } = { count: 0 }] = await tx
            .select({ count: sql<number>`count(*)` })
            .from(roleBindings)
            .where(eq(roleBindings.role, 'admin'))
          if (Number(count) <= 1)
            throw conflict(
              'last_admin',
              `${found.email} holds the last admin binding; grant admin to someone else before removing it.`,
            )
        }
        const deleted = await tx.delete(roleBindings).where(eq(roleBindings.id, id)).returning({ id: roleBindings.id })
        if (deleted.length === 0) throw notFound('Role binding')
        await audit.record(
          {
            ...meta.audit,
            action: 'role_binding.delete',
            target: `user:${found.userId}`,
            metadata: { email: found.email, role: found.role },
          },
          legacyAuditWithin(db, tx),
        )
        return found
      })
      identity.invalidate()
      return toView(removed)
    },
  }
}

export type RoleBindingsService = ReturnType<typeof createRoleBindingsService>
