/**
 * Personal access tokens for integrators. A token is `acpat_` and 32 random
 * bytes (base64url); only its SHA-256 is stored, so the database never holds
 * one in clear and a token is shown once, at creation. Every use looks the hash
 * up (no cache), so a revocation holds on the next request on every instance;
 * the owner's roles are resolved at use time like any sign-in's. Creating and
 * revoking are audited; using is not (it would flood the trail), but the last
 * use is recorded, at most once a minute per token.
 */
import { createHash, randomBytes } from 'node:crypto'
import { isId, newId } from '../../../db/client'
import type { AccessTokenRow } from '../../../db/schema'
import type { AuditLog } from '../../../plugins/audit'
import type { Logger } from '../../../plugins/logging/logger'
import type { RequestMeta } from '../../../plugins/rbac'
import { conflict, notFound, unprocessable } from '../../errors'
import { ACCESS_TOKEN_PREFIX, type AccessTokenResolver, type Actor } from '../../identity'
import { toPage, type Page, type PageParams } from '../../pagination'
import type { Stores } from '../../stores'
import { TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS, type CreatedTokenType, type TokenViewType } from './model'

/** Unrevoked tokens one person may hold: enough for every integration, few enough to review on /me. */
const MAX_TOKENS_PER_USER = 50
const TOUCH_EVERY_MS = 60_000
const DAY_MS = 86_400_000
const TOKEN_SHAPE = new RegExp(`^${ACCESS_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`)
/** Characters of the token kept in clear to tell tokens apart: the prefix and 4 of its 43 random ones. */
const SHOWN_CHARS = ACCESS_TOKEN_PREFIX.length + 4

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

const toView = (row: AccessTokenRow, now: number): TokenViewType => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  created_at: row.createdAt.toISOString(),
  expires_at: row.expiresAt.toISOString(),
  last_used_at: row.lastUsedAt?.toISOString() ?? null,
  expired: row.expiresAt.getTime() <= now,
})

const invalid = (field: string, message: string) =>
  unprocessable('validation_failed', `Invalid field "${field}": ${message}.`, [{ field, message }])

export interface TokensDeps {
  stores: Stores
  audit: AuditLog
  logger: Logger
}

export interface TokensService extends AccessTokenResolver {
  create(actor: Actor, input: { name: string; expires_in_days?: number }, meta: RequestMeta): Promise<CreatedTokenType>
  list(actor: Actor, params: PageParams): Promise<Page<TokenViewType>>
  revoke(actor: Actor, id: string, meta: RequestMeta): Promise<TokenViewType>
}

/**
 * @example
 * const tokens = createTokensService({ stores, audit, logger })
 * const { token } = await tokens.create(actor, { name: 'CI' }, meta) // shown once
 */
export function createTokensService({ stores, audit, logger }: TokensDeps): TokensService {
  /** When this instance last wrote each token's last use; bounded, it only saves writes. */
  const touched = new Map<string, number>()

  const recordUse = (row: AccessTokenRow, now: number) => {
    if ((row.lastUsedAt?.getTime() ?? 0) > now - TOUCH_EVERY_MS || (touched.get(row.id) ?? 0) > now - TOUCH_EVERY_MS) return
    if (touched.size >= 10_000) touched.clear()
    touched.set(row.id, now)
    // Not awaited: the request need not wait for a bookkeeping write, and its failure must not refuse the request.
    stores.tokens.touch(row.id, new Date(now)).catch((error: unknown) =>
      logger.warn('could not record a token use', { token_id: row.id, error: (error as Error).message }),
    )
  }

  return {
    async resolveToken(token) {
      if (!TOKEN_SHAPE.test(token)) return { refused: 'unknown' }
      const found = await stores.tokens.byHash(hashToken(token))
      if (!found) return { refused: 'unknown' }
      const now = Date.now()
      if (found.token.expiresAt.getTime() <= now) return { refused: 'expired' }
      recordUse(found.token, now)
      return { tokenId: found.token.id, userId: found.token.userId, externalId: found.owner.externalId, email: found.owner.email }
    },

    async create(actor, input, meta) {
      const name = input.name.trim()
      if (!name) throw invalid('name', 'give the token a name that says what it is for')
      if (name.length > 100) throw invalid('name', 'must be at most 100 characters')
      if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid('name', 'must not contain control characters')
      const days = input.expires_in_days ?? TOKEN_DEFAULT_DAYS
      if (!Number.isInteger(days) || days < 1 || days > TOKEN_MAX_DAYS) throw invalid('expires_in_days', `must be a whole number from 1 to ${TOKEN_MAX_DAYS}`)
      if ((await stores.tokens.countActive(actor.userId)) >= MAX_TOKENS_PER_USER)
        throw conflict('too_many_tokens', `You hold ${MAX_TOKENS_PER_USER} tokens, the most allowed; revoke one you no longer use first.`)
      const token = `${ACCESS_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
      const now = new Date()
      const row: AccessTokenRow = {
        id: newId(),
        userId: actor.userId,
        name,
        tokenHash: hashToken(token),
        prefix: token.slice(0, SHOWN_CHARS),
        createdAt: now,
        expiresAt: new Date(now.getTime() + days * DAY_MS),
        lastUsedAt: null,
        revokedAt: null,
      }
      await stores.transaction(async (tx) => {
        await tx.tokens.insert(row)
        await audit.record(
          {
            ...meta.audit,
            action: 'token.create',
            target: `token:${row.id}`,
            metadata: { name, prefix: row.prefix, expires_at: row.expiresAt.toISOString() },
          },
          tx,
        )
      })
      return { id: row.id, name, token, prefix: row.prefix, expires_at: row.expiresAt.toISOString() }
    },

    async list(actor, params) {
      const now = Date.now()
      return toPage(await stores.tokens.listActive(actor.userId, params.after, params.limit + 1), params, (row) => toView(row, now))
    },

    async revoke(actor, id, meta) {
      if (!isId(id)) throw notFound('Token')
      const revoked = await stores.transaction(async (tx) => {
        const row = await tx.tokens.revoke(id, actor.userId, new Date())
        if (!row) return undefined
        await audit.record({ ...meta.audit, action: 'token.revoke', target: `token:${id}`, metadata: { name: row.name, prefix: row.prefix } }, tx)
        return row
      })
      if (!revoked) throw notFound('Token')
      return toView(revoked, Date.now())
    },
  }
}
