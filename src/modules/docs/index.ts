/** User docs: GET /api/v1/docs, /api/v1/docs/:slug, and the pages /docs and /docs/:slug. */
import { Elysia } from 'elysia'
import type { rbac } from '../../../plugins/rbac'
import { pageOf, pageParams, PageQuery } from '../../pagination'
import { DocSummaryView, DocView, SlugParams } from './model'
import { createDocsService } from './service'
import { DocPage, DocsIndexPage } from './views'

export interface DocsModuleOptions {
  guard: ReturnType<typeof rbac>
  /** Where the markdown lives; default docs/user. */
  dir?: string
}

/**
 * @example
 * app.use(docsModule({ guard }))
 */
export const docsModule = ({ guard, dir }: DocsModuleOptions) => {
  const docs = createDocsService(dir)
  return new Elysia({ name: 'module/docs' })
    .use(guard)
    .group('/api/v1/docs', { detail: { tags: ['docs'] } }, (api) =>
      api
        .get('', ({ query }) => docs.page(query.cursor, pageParams({ limit: query.limit }).limit), {
          permission: 'docs:read',
          query: PageQuery,
          response: pageOf(DocSummaryView),
          detail: { summary: 'The user guides, in reading order' },
        })
        .get('/:slug', ({ params }) => docs.get(params.slug), {
          permission: 'docs:read',
          params: SlugParams,
          response: DocView,
          detail: { summary: 'One guide: its HTML (rendered from markdown and sanitised) and table of contents' },
        }),
    )
    .get('/docs', ({ actor }) => DocsIndexPage({ actor, docs: docs.all() }), { permission: 'docs:read', detail: { hide: true } })
    .get('/docs/:slug', ({ actor, params }) => DocPage({ actor, doc: docs.get(params.slug), docs: docs.all() }), {
      permission: 'docs:read',
      params: SlugParams,
      detail: { hide: true },
    })
}
