/**
 * Documents: the JSON API (SPEC §4 second wave) — add files to a session that
 * has not run, list a session's documents, download the original (owner only),
 * delete before the run — and the page fragments: a session's live document
 * list and the text of one cited page. Sessions created with files go through
 * the sessions routes, which hand multipart bodies to the same service.
 */
import { Elysia, t } from 'elysia'
import type { QuotaPlugin } from '../../../plugins/quota'
import type { rbac } from '../../../plugins/rbac'
import { contentDisposition } from './download'
import { DocumentList as DocumentListSchema, toDocumentView } from './model'
import { isMultipart } from './multipart'
import type { DocumentsService } from './service'
import { AppError } from '../../errors'
import { parseUploadForm } from './uploads'
import { DocumentList, DocumentPage } from './views'

export interface DocumentsModuleOptions {
  documents: DocumentsService
  guard: ReturnType<typeof rbac>
  quota: QuotaPlugin
}

const SessionParams = t.Object({ id: t.String({ maxLength: 64 }) })
const DocumentParams = t.Object({ id: t.String({ maxLength: 64 }) })
const PageParams = t.Object({ id: t.String({ maxLength: 64 }), docId: t.String({ maxLength: 64 }), page: t.String({ maxLength: 6 }) })

/**
 * @example
 * app.use(documentsModule({ documents, guard, quota }))
 */
export const documentsModule = ({ documents, guard, quota }: DocumentsModuleOptions) =>
  new Elysia({ name: 'module/documents' })
    .use(guard)
    .use(quota)
    .group('/api/v1', { detail: { tags: ['documents'] } }, (api) =>
      api
        .post(
          '/sessions/:id/documents',
          async ({ actor, params, request, meta, set }) => {
            if (!isMultipart(request))
              throw new AppError(415, 'unsupported_media_type', 'Send the files as multipart/form-data, in the field "files" (repeatable).')
            const rows = await documents.addToSession(actor, params.id, request, meta)
            set.status = 201
            return { items: rows.map(toDocumentView) }
          },
          {
            permission: 'sessions:create',
            quota: ['write', 'upload'],
            params: SessionParams,
            // The body streams to storage; Elysia's own multipart parser would buffer it whole.
            parse: ({ request }) => parseUploadForm(request),
            response: { 201: DocumentListSchema },
            detail: {
              requestBody: {
                required: true,
                content: {
                  'multipart/form-data': {
                    schema: { type: 'object', properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } } }, required: ['files'] },
                  },
                },
              },
              summary: 'Add documents to a session that has not run yet (multipart field "files", repeatable)',
              description:
                'Each file is checked against the allow-list and its magic bytes before it is stored. 413 file_too_large / too_many_files / session_too_large, 415 unsupported_type / type_mismatch, 409 session_started, 403 uploads_disabled.',
            },
          },
        )
        .get('/sessions/:id/documents', async ({ actor, params }) => ({ items: (await documents.list(actor, params.id)).map(toDocumentView) }), {
          permission: 'sessions:read',
          params: SessionParams,
          response: DocumentListSchema,
          detail: { summary: "A session's documents: metadata, status and pages read" },
        })
        .get(
          '/documents/:id/content',
          async ({ actor, params, meta }) => {
            const { row, object } = await documents.content(actor, params.id, meta)
            return new Response(object.body, {
              headers: {
                'content-type': row.mime,
                'content-length': String(object.length),
                'content-disposition': contentDisposition(row.filename, row.kind),
                'x-content-type-options': 'nosniff',
                'cache-control': 'private, no-store',
                'content-security-policy': "default-src 'none'; sandbox",
              },
            })
          },
          {
            permission: 'sessions:read',
            params: DocumentParams,
            detail: { summary: 'The original bytes of a document (owner only), as an attachment' },
          },
        )
        .delete(
          '/documents/:id',
          async ({ actor, params, meta, set }) => {
            await documents.remove(actor, params.id, meta)
            set.status = 204
            return undefined
          },
          {
            permission: 'sessions:delete',
            quota: 'write',
            params: DocumentParams,
            detail: { summary: 'Delete a document before its session runs (its bytes and text go at once)' },
          },
        ),
    )
    .get(
      '/sessions/:id/documents',
      async ({ actor, params }) => {
        const rows = await documents.list(actor, params.id)
        return DocumentList({
          sessionId: params.id,
          documents: rows.map((row) => ({ ...toDocumentView(row), content_type: row.mime })),
        })
      },
      { permission: 'sessions:read', params: SessionParams, detail: { hide: true } },
    )
    .get(
      '/sessions/:id/documents/:docId/pages/:page',
      async ({ actor, params, request }) => {
        const page = /^\d{1,5}$/.test(params.page) ? Number(params.page) : NaN
        const { document, text } = await documents.page(actor, params.id, params.docId, page)
        return DocumentPage({ actor, sessionId: params.id, document, page, text, fragment: request.headers.get('hx-request') === 'true' })
      },
      { permission: 'sessions:read', params: PageParams, detail: { hide: true } },
    )

