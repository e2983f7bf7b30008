/**
 * Users and their roles. A user is created on first sight, with ADMIN_EMAILS
 * bound to `admin` then and a `user.created` event, all in one transaction.
 * Resolved identities are cached briefly (IDENTITY_CACHE_MS) because every
 * request needs one; role-binding changes clear the cache.
 */
import { newId } from '../../../db/client'
import { createCoalescer, ItemFailure } from '../../../db/coalesce'
import type { UserRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { AuditActor, Identity, IdentityResolver } from '../../identity'
import { auditActorOf, normaliseEmail } from '../../identity'
import type { Stores, TxStores } from '../../stores'

export interface IdentityService extends IdentityResolver {
  /**
   * The id of the user with this email, created on first sight like `resolve`
   * does (ADMIN_EMAILS included) when nobody with it has signed in yet; `by` is
   * who made it happen (an admin binding a role to someone by email). Within
   * `tx`, the creation commits with the caller's change.
   */
  ensureUser(email: string, by: AuditActor, tx?: TxStores): Promise<string>
  /** Forgets cached identities, so a role change applies on the next request. */
  invalidate(): void
}

export interface IdentityDeps {
  stores: Stores
  audit: AuditLog
  adminEmails: string[]
  cacheMs: number
}

/**
 * @example
 * const identity = createIdentityService({ stores, audit, adminEmails: ['root@example.com'], cacheMs: 5000 })
 * const { userId, roles } = await identity.resolve('ann@example.com', 'ann@example.com', signIn)
 */
export function createIdentityService({ stores, audit, adminEmails, cacheMs }: IdentityDeps): IdentityService {
  /**
   * Who a person is, for IDENTITY_CACHE_MS. An entry past three quarters of its
   * life is still served while one background read refreshes it, so a busy
   * user's requests never wait for the re-read (they used to, all of them in
   * the same instant every cacheMs); past its life it is read in the request
   * as before, so a revoked role is never seen longer than cacheMs.
   * `generation` moves on every invalidate: a read that started before one
   * cannot put back what it cleared.
   */
  const cache = new Map<string, { identity: Identity; expires: number; refreshAt: number; refreshing: boolean }>()
  let generation = 0
  const admins = new Set(adminEmails.map(normaliseEmail))

  const rolesOf = async (userId: string): Promise<string[]> => [
    'user',
    ...(await stores.identity.rolesOf(userId)).filter((role) => role !== 'user'),
  ]

  /**
   * Adds the user unless a concurrent request did first (then returns theirs).
   * `actor` says who is on the trail for it, given the new user's id and roles.
   */
  const create = async (
    tx: TxStores,
    externalId: string,
    email: string,
    actor: (userId: string, roles: string[]) => AuditActor,
  ): Promise<string> => {
    const id = newId()
    const now = new Date()
    const user: UserRow = { id, externalId, email, displayName: null, createdAt: now, lastSeenAt: now, deletedAt: null }
    if (!(await tx.identity.insertUser(user))) return (await tx.identity.userIdByExternalId(externalId))!
    const admin = admins.has(email.toLowerCase())
    if (admin) await tx.identity.bind({ id: newId(), userId: id, role: 'admin', createdBy: 'ADMIN_EMAILS', createdAt: now })
    const by = actor(id, admin ? ['user', 'admin'] : ['user'])
    // Created by someone else (an admin granting a role): the event names whom, as the actor fields do not.
    const byOther = by.actorId !== id
    await audit.record(
      {
        ...by,
        action: 'user.created',
        target: `user:${id}`,
        metadata:
          byOther || admin
            ? { ...(byOther ? { email } : {}), ...(admin ? { bound_role: 'admin', source: 'ADMIN_EMAILS' } : {}) }
            : undefined,
      },
      tx,
    )
    return id
  }

  type Creation = { externalId: string; email: string; actor: (userId: string, roles: string[]) => AuditActor }
  /** Roles of a user this call created: known without asking (null when a concurrent request created them). */
  type Created = { userId: string; roles: string[] | null }
  /**
   * create() for the users first seen at one moment (a burst of new users' requests): one insert and one audit
   * write in one transaction; the same external id twice in a burst is one user. Decided as create() would.
   */
  const createMany = async (tx: TxStores, items: readonly Creation[]): Promise<Created[]> => {
    const now = new Date()
    const rows = new Map<string, UserRow>()
    for (const { externalId, email } of items)
      if (!rows.has(externalId)) rows.set(externalId, { id: newId(), externalId, email, displayName: null, createdAt: now, lastSeenAt: now, deletedAt: null })
    const inserted = await tx.identity.insertUsers([...rows.values()])
    const outcome = new Map<string, Created>()
    const events = []
    for (const item of items) {
      if (outcome.has(item.externalId)) continue
      const row = rows.get(item.externalId)!
      if (!inserted.has(row.id)) {
        outcome.set(item.externalId, { userId: (await tx.identity.userIdByExternalId(item.externalId))!, roles: null })
        continue
      }
      const admin = admins.has(row.email.toLowerCase())
      if (admin) await tx.identity.bind({ id: newId(), userId: row.id, role: 'admin', createdBy: 'ADMIN_EMAILS', createdAt: now })
      const roles = admin ? ['user', 'admin'] : ['user']
      events.push({
        ...item.actor(row.id, roles),
        action: 'user.created',
        target: `user:${row.id}`,
        metadata: admin ? { bound_role: 'admin', source: 'ADMIN_EMAILS' } : undefined,
      })
      outcome.set(item.externalId, { userId: row.id, roles })
    }
    await audit.recordAll(events, tx)
    return items.map((item) => outcome.get(item.externalId)!)
  }
  const createTogether = createCoalescer<Creation, Created>(async (items) => {
    try {
      return await stores.transaction((tx) => createMany(tx, items))
    } catch {
      // The shared transaction failed (nothing of it stays): each user is created alone, so one bad one fails only its request.
      return Promise.all(
        items.map((item) =>
          stores
            .transaction((tx) => createMany(tx, [item]))
            .then(([created]) => created!, (error: unknown) => new ItemFailure(error)),
        ),
      )
    }
  })

  const remember = (identity: Identity, started: number) => {
    if (cacheMs <= 0 || started !== generation) return
    const now = Date.now()
    cache.set(identity.externalId, { identity, expires: now + cacheMs, refreshAt: now + cacheMs * 0.75, refreshing: false })
  }

  /** The background re-read: lookups only; a person no longer there is dropped (a request creates them again, audited). */
  const refresh = async (externalId: string, email: string) => {
    const started = generation
    const userId = await stores.identity.userIdByExternalId(externalId)
    if (!userId) {
      if (started === generation) cache.delete(externalId)
      return
    }
    remember({ userId, externalId, email, roles: await rolesOf(userId) }, started)
  }

  return {
    async resolve(externalId, email, signIn) {
      const hit = cache.get(externalId)
      const now = Date.now()
      if (hit && hit.expires > now) {
        if (hit.refreshAt <= now && !hit.refreshing) {
          hit.refreshing = true
          void refresh(externalId, email).catch(() => {
            hit.refreshing = false // the request that finds it expired reads it (and reports the failure)
          })
        }
        return hit.identity
      }
      const started = generation
      const known = await stores.identity.userIdByExternalId(externalId)
      const created = known
        ? null
        : await createTogether.add({
            externalId,
            email,
            actor: (id, roles) => auditActorOf({ userId: id, email, role: signIn.roleOf(roles) }, signIn.requestId, signIn.ip, signIn.clientRequestId),
          })
      const userId = known ?? created!.userId
      const identity: Identity = { userId, externalId, email, roles: created?.roles ?? (await rolesOf(userId)) }
      remember(identity, started)
      return identity
    },
    async ensureUser(email, by, tx) {
      const normalised = normaliseEmail(email)
      // A JWT user's external id is `jwt:<sub>`, so look by email; dev login, X-User-Id and the
      // trusted proxy use the email as the external id, so a user created here is theirs.
      const find = async (within: TxStores) =>
        (await within.identity.userIdByEmail(normalised)) ?? create(within, normalised, normalised, () => by)
      return tx ? find(tx) : stores.transaction(find)
    },
    invalidate() {
      generation += 1
      cache.clear()
    },
  }
}
