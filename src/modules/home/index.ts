/** The home page and the app's static assets (htmx and CSS, served locally: no CDN). */
import { Elysia } from 'elysia'
import type { rbac } from '../../../plugins/rbac'
import { notFound } from '../../errors'
import { own } from '../../lookup'
import { HomePage } from './views'

const ASSETS: Record<string, { path: string; type: string }> = {
  'htmx.min.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { path: `${import.meta.dir}/../../../views/assets/app.css`, type: 'text/css; charset=utf-8' },
  'app.js': { path: `${import.meta.dir}/../../../views/assets/app.js`, type: 'text/javascript; charset=utf-8' },
  'live.js': { path: `${import.meta.dir}/../../../views/assets/live.js`, type: 'text/javascript; charset=utf-8' },
  'documents.css': { path: `${import.meta.dir}/../../../views/assets/documents.css`, type: 'text/css; charset=utf-8' },
  'upload-form.js': { path: `${import.meta.dir}/../../../views/assets/upload-form.js`, type: 'text/javascript; charset=utf-8' },
}

/**
 * The file at `path`, checked to exist while the route can still answer an error: a
 * Bun.file that fails once the response is being sent escapes Elysia's error handler
 * (issue 14, finding 3). Shared by every route that serves a file from disk.
 * @example
 * return await existingFile(`${dir}/${name}`)
 */
export async function existingFile(path: string): Promise<ReturnType<typeof Bun.file>> {
  const file = Bun.file(path)
  if (!(await file.exists())) throw notFound('Asset')
  return file
}

export const homeModule = ({ guard }: { guard: ReturnType<typeof rbac> }) =>
  new Elysia({ name: 'module/home' })
    .use(guard)
    .get('/', ({ actor }) => HomePage({ actor }), { permission: 'public', detail: { hide: true } })
    .get(
      '/assets/:name',
      async ({ params, set }) => {
        const asset = own(ASSETS, params.name)
        if (!asset) throw notFound('Asset')
        const file = await existingFile(asset.path)
        set.headers['content-type'] = asset.type
        set.headers['cache-control'] = 'public, max-age=3600'
        return file
      },
      { permission: 'public', detail: { hide: true } },
    )
