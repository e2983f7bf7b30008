/** The home page, the login page and the app's static assets (htmx and CSS, served locally: no CDN). */
import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import type { rbac } from '../../../plugins/rbac'
import { HomePage, LoginPage } from './views'

const ASSETS: Record<string, { path: string; type: string }> = {
  'htmx.min.js': { path: require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { path: `${import.meta.dir}/../../../views/assets/app.css`, type: 'text/css; charset=utf-8' },
}

export const homeModule = ({ guard, config }: { guard: ReturnType<typeof rbac>; config: Config }) =>
  new Elysia({ name: 'module/home' })
    .use(guard)
    .get('/', ({ actor }) => HomePage({ actor }), { permission: 'public', detail: { hide: true } })
    .get(
      '/login',
      ({ actor, query }) =>
        LoginPage({
          actor,
          next: query.next?.startsWith('/') && !query.next.startsWith('//') ? query.next : '/sessions',
          devLogin: config.auth.mode === 'dev',
        }),
      { permission: 'public', query: t.Object({ next: t.Optional(t.String({ maxLength: 500 })) }), detail: { hide: true } },
    )
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
