/**
 * Export and erasure (SPEC §4, §5 Retention): GET /api/v1/me/export (the
 * caller's own data), GET /api/admin/users/:id/export and DELETE
 * /api/admin/users/:id (admins). Exports are streamed JSON documents
 * (./export.ts); erasure answers its receipt (./service.ts).
 */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import type { PrivacyService } from './service'

const IdParams = t.Object({ id: t.String({ maxLength: 64 }) })

const ErasureReceipt = t.Object({
  receipt: t.Object({
    subject: t.String({ description: 'the pseudonym that replaced the person in kept rows and in the audit trail' }),
    tables: t.Record(t.String(), t.Integer(), { description: 'rows deleted per table' }),
    pseudonymised: t.Record(t.String(), t.Integer(), { description: 'rows kept with the person replaced by the pseudonym, per table' }),
    objects: t.Integer({ description: 'storage objects deleted' }),
    at: t.String({ format: 'date-time' }),
  }),
})

/** The export as a download; never cached, whoever sits between. */
const download = (body: ReadableStream<Uint8Array>, name: string, headers: Record<string, string | number>) =>
  new Response(body, {
    headers: {
      ...(headers as Record<string, string>),
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${name}-${new Date().toISOString().slice(0, 10)}.json"`,
      'cache-control': 'no-store',
    },
  })

export interface PrivacyModuleOptions {
  privacy: PrivacyService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

/**
 * @example
 * app.use(privacyModule({ privacy, guard, quota }))
 */
export const privacyModule = ({ privacy, guard, quota }: PrivacyModuleOptions) =>
  new Elysia({ name: 'module/privacy' })
    .use(guard)
    .use(quota)
    .get(
      '/api/v1/me/export',
      async ({ actor, meta, set }) => download(await privacy.exportSelf(actor, meta), 'council-export', set.headers),
      {
        permission: 'me:read',
        quota: 'export',
        detail: {
          tags: ['identity'],
          summary: 'All of your data as one JSON document (streamed): sessions with results and document metadata, and every other record naming you',
        },
      },
    )
    .group('/api/admin/users', { detail: { tags: ['admin'] } }, (api) =>
      api
        .get(
          '/:id/export',
          async ({ actor, params, meta, set }) => download(await privacy.exportUser(actor, params.id, meta), `council-export-${params.id}`, set.headers),
          {
            permission: 'users:export',
            quota: 'export',
            params: IdParams,
            detail: { summary: "A user's data as one JSON document (streamed), as GET /api/v1/me/export gives them; audited as export.user" },
          },
        )
        .delete('/:id', async ({ actor, params, meta }) => ({ receipt: await privacy.erase(actor, params.id, meta) }), {
          permission: 'users:purge',
          params: IdParams,
          response: ErasureReceipt,
          detail: {
            summary:
              'Erase a user: deletes their sessions, documents and objects, jobs, logs, stage outputs, tokens, entitlements, budget rows, tickets and comments; pseudonymises payments and their audit events; answers the receipt',
          },
        }),
    )
