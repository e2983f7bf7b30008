/**
 * The caller: GET /api/v1/me (roles and effective permissions) and the /me
 * page — who you are, and your personal access tokens, whose panel creates
 * (showing a new token once) and revokes them in place.
 */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { AppError } from '../../errors'
import type { Actor } from '../../identity'
import { pageParams } from '../../pagination'
import type { TokensService } from '../tokens/service'
import { TokensPanel, type TokensPanelProps } from '../tokens/views'
import { MePage } from './views'

const MeResponse = t.Object({
  id: t.String(),
  external_id: t.String(),
  email: t.String(),
  roles: t.Array(t.String()),
  permissions: t.Array(t.String()),
})

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })
/** The panel's form sends strings; the service checks them, so a refusal is shown beside the form. */
const TokenFormBody = t.Object({
  name: t.Optional(t.String({ maxLength: 2000 })),
  expires_in_days: t.Optional(t.String({ maxLength: 10 })),
  _csrf: t.Optional(t.String()),
})

const isHtmx = (request: Request) => request.headers.get('hx-request') === 'true'
const refusal = (error: unknown): error is AppError => error instanceof AppError && [404, 409, 422].includes(error.status)

export interface MeModuleOptions {
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
  tokens: TokensService
}

/**
 * @example
 * app.use(meModule({ guard, quota, tokens }))
 */
export const meModule = ({ guard, quota, tokens }: MeModuleOptions) => {
  const panel = async (actor: Actor, outcome: Omit<TokensPanelProps, 'actor' | 'page'> = {}) =>
    actor.permissions.has('tokens:manage') ? { ...outcome, page: await tokens.list(actor, pageParams({ limit: 200 })) } : null

  /** A panel action's answer: htmx gets the panel, a plain form post the whole page. Never cached: it may hold a new token. */
  const respond = async (actor: Actor, request: Request, set: { headers: Record<string, string | number> }, outcome: Omit<TokensPanelProps, 'actor' | 'page'>) => {
    set.headers['cache-control'] = 'no-store'
    const props = (await panel(actor, outcome))!
    return isHtmx(request) ? TokensPanel({ actor, ...props }) : MePage({ actor, tokens: props })
  }

  return new Elysia({ name: 'module/me' })
    .use(guard)
    .use(quota)
    .get(
      '/api/v1/me',
      ({ actor }) => ({
        id: actor.userId,
        external_id: actor.externalId,
        email: actor.email,
        roles: actor.roles,
        permissions: [...actor.permissions].sort(),
      }),
      { permission: 'me:read', response: MeResponse, detail: { tags: ['identity'], summary: 'The caller' } },
    )
    .get(
      '/me',
      async ({ actor, set }) => {
        set.headers['cache-control'] = 'no-store'
        return MePage({ actor, tokens: await panel(actor) })
      },
      { permission: 'me:read', detail: { hide: true } },
    )
    .post(
      '/me/tokens',
      async ({ actor, body, meta, request, set }) => {
        try {
          const days = body.expires_in_days ? Number(body.expires_in_days) : undefined
          const created = await tokens.create(actor, { name: body.name ?? '', expires_in_days: days }, meta)
          return respond(actor, request, set, { created })
        } catch (error) {
          if (!refusal(error)) throw error
          set.status = error.status
          return respond(actor, request, set, { error: error.message, form: { name: body.name, expires_in_days: body.expires_in_days } })
        }
      },
      { permission: 'tokens:manage', quota: 'write', body: TokenFormBody, detail: { hide: true } },
    )
    .post(
      '/me/tokens/:id/revoke',
      async ({ actor, params, meta, request, set }) => {
        try {
          const revoked = await tokens.revoke(actor, params.id, meta)
          return respond(actor, request, set, { done: `Revoked “${revoked.name}”: it is refused from now on.` })
        } catch (error) {
          if (!refusal(error)) throw error
          set.status = error.status
          return respond(actor, request, set, { error: error.message })
        }
      },
      {
        permission: 'tokens:manage',
        quota: 'write',
        params: IdParams,
        body: t.Optional(t.Object({ _csrf: t.Optional(t.String()) })),
        detail: { hide: true },
      },
    )
}
