/** Personal access tokens: the JSON API under /api/v1/tokens (the /me page's panel posts to the me module). */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { CreatedToken, CreateTokenBody, TokenView } from './model'
import type { TokensService } from './service'

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

export interface TokensModuleOptions {
  tokens: TokensService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

/**
 * @example
 * app.use(tokensModule({ tokens, guard, quota }))
 */
export const tokensModule = ({ tokens, guard, quota }: TokensModuleOptions) =>
  new Elysia({ name: 'module/tokens' })
    .use(guard)
    .use(quota)
    .group('/api/v1/tokens', { detail: { tags: ['tokens'] } }, (api) =>
      api
        .post(
          '',
          async ({ actor, body, meta, set }) => {
            const created = await tokens.create(actor, body, meta)
            set.status = 201
            set.headers['cache-control'] = 'no-store'
            return created
          },
          {
            permission: 'tokens:manage',
            quota: 'write',
            body: CreateTokenBody,
            response: { 201: CreatedToken },
            detail: { summary: 'Create a personal access token; the token is in this response only' },
          },
        )
        .get('', ({ actor, query }) => tokens.list(actor, pageParams(query)), {
          permission: 'tokens:manage',
          query: PageQuery,
          response: pageOf(TokenView),
          detail: { summary: "The caller's tokens (not revoked), newest first; never the token itself" },
        })
        .delete(
          '/:id',
          async ({ actor, params, meta, set }) => {
            await tokens.revoke(actor, params.id, meta)
            set.status = 204
            return undefined
          },
          {
            permission: 'tokens:manage',
            quota: 'write',
            params: IdParams,
            detail: { summary: 'Revoke a token; refused from its next use on. 404 unless it is the caller’s' },
          },
        ),
    )
