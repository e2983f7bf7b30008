/**
 * A person's rights over their data: export (theirs, or anyone's for an admin)
 * and erasure (admins). Erasure walks every table through the data walk
 * (src/modules/data): it deletes what belongs to the person — sessions with
 * their jobs, logs, stage outputs and documents (rows and storage objects),
 * tickets they filed with their threads and comments they wrote, tokens,
 * entitlements, budget rows, role bindings, their per-user limit — pseudonymises
 * what must be kept (payments: money records; who edited a ticket or a roadmap
 * item; their audit events), then, in one transaction, removes the user row,
 * records the erased identity (their old sign-in cookies are refused) and the
 * `user.erase` event with the counts. Run again after a crash, it finishes.
 */
import type { SignInRevocations } from '../auth/revocations'
import { isId } from '../../../db/client'
import { pseudonymiseEvent, type AuditLog } from '../../../plugins/audit'
import type { RequestMeta } from '../../../plugins/rbac'
import type { ObjectStorage } from '../../../plugins/storage'
import { conflict, notFound } from '../../errors'
import type { Actor, ErasureCheck } from '../../identity'
import type { Stores } from '../../stores'
import { closure, pseudonymiseMentions, removeAll, type CascadeDeps } from '../data/cascade'
import type { Row } from '../data/store'
import { exportPieces, toByteStream } from './export'
import { erasureSubjectOf, pseudonymOf } from './subjects'

export interface ErasureReceipt {
  /** The pseudonym that replaced the person where rows were kept (audit events, payments). */
  subject: string
  /** Rows deleted per table, the user row included. */
  tables: Record<string, number>
  /** Rows kept with the person replaced by `subject`, per table. */
  pseudonymised: Record<string, number>
  /** Storage objects deleted. */
  objects: number
  at: string
}

export interface PrivacyDeps {
  stores: Stores
  storage: ObjectStorage
  audit: AuditLog
  /** Keys the pseudonyms and erased-identity subjects (SESSION_SECRET). */
  secret: string
  batchSize: number
  /** Forgets cached identities, so the erased person's next request does not run as them. */
  forgetIdentities: () => void
  /** Ends the erased person's sign-in cookies, in the erasure's transaction. */
  signIns?: Pick<SignInRevocations, 'revoke'>
  /**
   * Writes every batched write this process still holds in memory: the usage recorder's rows
   * (src/modules/usage/recorder.ts) and the job log writer's lines (src/modules/jobs/job-log.ts).
   * Erasure calls it before its walk and again after, so every pending write under the person's
   * ids (a stopped council's last calls, its "job cancelled" line) is in the rows erased, never
   * written after them.
   */
  flushPending?: () => Promise<void>
  onExportError?: (error: unknown) => void
}

/**
 * The authenticator's question (was this email's holder erased, and when?), answered from erased_identities.
 * @example
 * createAuthenticator({ config, identity, erasures: createErasureCheck(stores, config.auth.sessionSecret) })
 */
export const createErasureCheck = (stores: Pick<Stores, 'data'>, secret: string): ErasureCheck => ({
  erasedAt: (email) => stores.data.erasures.erasedAt(erasureSubjectOf(secret, email)),
})

/**
 * @example
 * const privacy = createPrivacyService({ stores, storage, audit, secret: config.auth.sessionSecret, batchSize: 500, forgetIdentities: identity.invalidate })
 * const receipt = await privacy.erase(admin, userId, meta)
 */
export function createPrivacyService({ stores, storage, audit, secret, batchSize, forgetIdentities, signIns, flushPending, onExportError }: PrivacyDeps) {
  const cascade: CascadeDeps = { data: stores.data, storage, batchSize }

  const userRow = async (userId: string): Promise<Row> => {
    const [row] = isId(userId) ? await stores.data.rows('users', { column: 'id', values: [userId] }, null, 1) : []
    if (!row) throw notFound('User')
    return row
  }

  const stream = (user: Row) => toByteStream(exportPieces(stores, user), (error) => onExportError?.(error))

  return {

    /** The caller's own export, audited as `export.self`. */
    async exportSelf(actor: Actor, meta: RequestMeta): Promise<ReadableStream<Uint8Array>> {
      const user = await userRow(actor.userId)
      await audit.record({ ...meta.audit, action: 'export.self', target: `user:${actor.userId}` })
      return stream(user)
    },

    /** Any user's export, for an admin answering a request; audited as `export.user`. */
    async exportUser(actor: Actor, userId: string, meta: RequestMeta): Promise<ReadableStream<Uint8Array>> {
      const user = await userRow(userId)
      await audit.record({ ...meta.audit, action: 'export.user', target: `user:${userId}` })
      return stream(user)
    },

    async erase(actor: Actor, userId: string, meta: RequestMeta): Promise<ErasureReceipt> {
      const user = await userRow(userId)
      if (userId === actor.userId) throw conflict('cannot_erase_self', 'You cannot erase your own account; ask another admin.')
      const roles = await stores.identity.rolesOf(userId)
      if (roles.includes('admin') && (await stores.identity.listBindings({ role: 'admin' }, null, 2)).length < 2)
        throw conflict('last_admin', 'This user holds the last admin role binding; bind admin to someone else first.')

      const email = String(user.email)
      const pseudonym = pseudonymOf(secret, userId)
      await stopJobs(stores, userId)
      await flushPending?.()
      // A column naming a person holds their id, or (role_bindings.created_by, limits.updated_by) their email.
      const names = [userId, email]
      const sets = await closure(stores.data, { users: names })
      const removal = await removeAll(cascade, sets, new Set(['users']))
      const pseudonymised = await pseudonymiseMentions(cascade, names, pseudonym)
      const events = await pseudonymiseAudit(stores, { userId, email }, pseudonym, batchSize)
      if (events > 0) pseudonymised.audit_events = events
      // Whatever a job that was just stopping wrote meanwhile (a last log line, its last usage) names ids collected above.
      await flushPending?.()
      const late = await removeAll(cascade, sets, new Set(['users']))
      for (const [table, n] of Object.entries(late.tables)) removal.tables[table] = (removal.tables[table] ?? 0) + n
      removal.objects += late.objects

      const at = new Date()
      const receipt: ErasureReceipt = { subject: pseudonym, tables: removal.tables, pseudonymised, objects: removal.objects, at: at.toISOString() }
      await stores.transaction(async (tx) => {
        const removed = await tx.data.remove('users', [userId])
        if (removed > 0) receipt.tables.users = removed
        await tx.data.erasures.record(erasureSubjectOf(secret, email), at)
        await signIns?.revoke(email, tx)
        // No content: counts per table, and the pseudonym (never the id or the email) as target.
        await audit.record(
          {
            ...meta.audit,
            action: 'user.erase',
            target: `user:${pseudonym}`,
            metadata: { tables: receipt.tables, pseudonymised: receipt.pseudonymised, objects: receipt.objects },
          },
          tx,
        )
      })
      forgetIdentities()
      return receipt
    },
  }
}

const UNFINISHED = new Set(['queued', 'running'])
const STOP_WAIT_MS = 5000

/**
 * Asks the person's queued and running jobs to stop (the runner sees the flag within a
 * second and aborts; a queued one is never started), and waits a few seconds for the
 * running ones to end, so no council keeps writing outputs while its rows are deleted.
 */
async function stopJobs(stores: Stores, userId: string): Promise<void> {
  const active = (await stores.data.rows('jobs', { column: 'user_id', values: [userId] }, null, 100_000)).filter((job) => UNFINISHED.has(String(job.status)))
  if (active.length === 0) return
  const ids = active.map((job) => String(job.id))
  for (const id of ids) await stores.jobs.update(id, { cancelRequested: true })
  const deadline = Date.now() + STOP_WAIT_MS
  while (Date.now() < deadline) {
    const rows = await stores.data.rows('jobs', { column: 'id', values: ids }, null, ids.length)
    if (!rows.some((job) => job.status === 'running')) return
    await Bun.sleep(100)
  }
}

/** Rewrites the person's audit events in batches; returns how many. */
async function pseudonymiseAudit(stores: Stores, subject: { userId: string; email: string }, pseudonym: string, batchSize: number): Promise<number> {
  let after: string | null = null
  let changed = 0
  for (;;) {
    const rows = await stores.audit.mentioning(subject, after, batchSize)
    if (rows.length === 0) return changed
    // The search is broad (a LIKE on the metadata); only events that really name the person change.
    const rewritten = rows.map((row) => pseudonymiseEvent(row, subject, pseudonym)).filter((row, i) => JSON.stringify(row) !== JSON.stringify(rows[i]))
    await stores.audit.rewrite(rewritten)
    changed += rewritten.length
    after = rows[rows.length - 1]!.id
  }
}

export type PrivacyService = ReturnType<typeof createPrivacyService>
