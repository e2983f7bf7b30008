/** The home page and the app's static assets (htmx and CSS, served locally: no CDN). */
import { Elysia } from 'elysia'
import type { rbac } from '../../../plugins/rbac'
import { HomePage } from './views'

const ASSETS: Record<string, { path: string; type: string }> = {
  'htmx.min.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { path: `${import.meta.dir}/../../../views/assets/app.css`, type: 'text/css; charset=utf-8' },
  'app.js': { path: `${import.meta.dir}/../../../views/assets/app.js`, type: 'text/javascript; charset=utf-8' },
  'live.js': { path: `${import.meta.dir}/../../../views/assets/live.js`, type: 'text/javascript; charset=utf-8' },
  'charts.css': { path: `${import.meta.dir}/../../../views/assets/charts.css`, type: 'text/css; charset=utf-8' },
  'documents.css': { path: `${import.meta.dir}/../../../views/assets/documents.css`, type: 'text/css; charset=utf-8' },
  'upload-form.js': { path: `${import.meta.dir}/../../../views/assets/upload-form.js`, type: 'text/javascript; charset=utf-8' },
}

export const homeModule = ({ guard }: { guard: ReturnType<typeof rbac> }) =>
  new Elysia({ name: 'module/home' })
    .use(guard)
    .get('/', ({ actor }) => HomePage({ actor }), { permission: 'public', detail: { hide: true } })
    .get(
      '/assets/:name',
      ({ params, set }) => {
        const asset = ASSETS[params.name]
        if (!asset) {
          set.status = 404
          return 'Not found'
        }
        set.headers['content-type'] = asset.type
        set.headers['cache-control'] = 'public, max-age=3600'
        return Bun.file(asset.path)
      },
      { permission: 'public', detail: { hide: true } },
    )
