/**
 * Users and their roles. A user is created on first sight; ADMIN_EMAILS are
 * bound to `admin` then. Resolved identities are cached briefly (IDENTITY_CACHE_MS)
 * because every request needs one; role-binding changes clear the cache.
 */
import { asc, eq } from 'drizzle-orm'
import { legacyAuditWithin } from '../../stores'
import { newId, type Database } from '../../../db/client'
import type { AuditLog } from '../../../plugins/audit'

export interface Identity {
  userId: string
  externalId: string
  email: string
  /** Roles from role bindings, always including `user`. */
  roles: string[]
}

/** Where a request came from, and who acted when it was not the user themself (an admin granting a role). */
export interface IdentityContext {
  requestId?: string
  ip?: string | null
  by?: { actorId: string; actor: string; role: string }
}

export interface IdentityService {
  resolve(externalId: string, email: string, context?: IdentityContext): Promise<Identity>
  /**
   * The id of the user with this email, created on first sight like `resolve` does
   * (ADMIN_EMAILS included) when nobody with it has signed in yet. Used when an
   * admin binds a role to someone by email.
   */
  ensureUser(email: string, context?: IdentityContext): Promise<string>
  rolesOf(userId: string): Promise<string[]>
  invalidate(): void
}

export function createIdentityService({
  db,
  audit,
  adminEmails,
  cacheMs,
}: {
  db: Database
  audit: AuditLog
  adminEmails: string[]
  cacheMs: number
}): IdentityService {
  const cache = new Map<string, { identity: Identity; expires: number }>()
  const { users, roleBindings } = db.t

  const rolesOf = async (userId: string): Promise<string[]> => {
    const rows = await db.orm.select({ role: roleBindings.role }).from(roleBindings).where(eq(roleBindings.userId, userId))
    return ['user', ...rows.map((row) => row.role).filter((role) => role !== 'user')]
  }

  const findOrCreate = async (externalId: string, email: string, context: IdentityContext) => {
    const [existing] = await db.orm.select({ id: users.id }).from(users).where(eq(users.externalId, externalId)).limit(1)
    if (existing) return existing.id
    const id = newId()
    const now = new Date()
    await db.orm.transaction(async (tx) => {
      const inserted = await tx
        .insert(users)
        .values({ id, externalId, email, createdAt: now, lastSeenAt: now })
        .onConflictDoNothing()
        .returning({ id: users.id })
      if (inserted.length === 0) return // another request created it first
      const admin = adminEmails.includes(email.toLowerCase())
      if (admin)
        await tx.insert(roleBindings).values({ id: newId(), userId: id, role: 'admin', createdBy: 'ADMIN_EMAILS', createdAt: now })
      await audit.record(
        {
          action: 'user.created',
          actorId: context.by?.actorId ?? id,
          actor: context.by?.actor ?? email,
          role: context.by?.role,
          target: `user:${id}`,
          requestId: context.requestId,
          ip: context.ip,
          metadata:
            context.by || admin
              ? { ...(context.by ? { email } : {}), ...(admin ? { bound_role: 'admin', source: 'ADMIN_EMAILS' } : {}) }
              : undefined,
        },
        legacyAuditWithin(db, tx),
      )
    })
    const [row] = await db.orm.select({ id: users.id }).from(users).where(eq(users.externalId, externalId)).limit(1)
    return row!.id
  }

  return {
    async resolve(externalId, email, context = {}) {
      const hit = cache.get(externalId)
      if (hit && hit.expires > Date.now()) return hit.identity
      const userId = await findOrCreate(externalId, email, context)
      const identity: Identity = { userId, externalId, email, roles: await rolesOf(userId) }
      if (cacheMs > 0) cache.set(externalId, { identity, expires: Date.now() + cacheMs })
      return identity
    },
    async ensureUser(email, context = {}) {
      const normalised = email.trim().toLowerCase()
      // Any sign-in path may have created them (a JWT user's external id is `jwt:<sub>`); the oldest wins.
      const [known] = await db.orm
        .select({ id: users.id })
        .from(users)
        .where(eq(users.email, normalised))
        .orderBy(asc(users.createdAt))
        .limit(1)
      // Dev login, X-User-Id and the trusted proxy use the email as the external id, so they find this user.
      return known?.id ?? findOrCreate(normalised, normalised, context)
    },
    rolesOf,
    invalidate() {
      cache.clear()
    },
  }
}
