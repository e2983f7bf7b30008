/**
 * /swagger (Swagger UI) and /swagger/json (the OpenAPI 3 document). The UI's
 * assets come from swagger-ui-dist through the app itself: the openapi plugin's
 * own page loads them from a CDN, which renders nothing offline and breaks the CSP.
 */
import { dirname } from 'node:path'
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import type { rbac } from '../../../plugins/rbac'
import { notFound } from '../../errors'
import { own } from '../../lookup'
import { existingFile } from '../home'

const SWAGGER_DIST = dirname(require.resolve('swagger-ui-dist/package.json'))
const UI_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Agent Council API</title>
  <link rel="stylesheet" href="/swagger/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/swagger/assets/swagger-ui-bundle.js"></script>
  <script src="/swagger/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/swagger/assets/init.js"></script>
</body>
</html>`

const INIT = `window.ui = SwaggerUIBundle({
  url: '/swagger/json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout'
});`

/** Swagger UI sets inline styles from script; its page alone allows inline style attributes. */
const SWAGGER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"

export const apiDocsModule = ({ guard, version }: { guard: ReturnType<typeof rbac>; version: string }) =>
  new Elysia({ name: 'module/apidocs' })
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: null,
        documentation: {
          info: {
            title: 'Agent Council API',
            version,
            description:
              'JSON API of Agent Council. Errors: {"error":{"code","message","request_id"}}. Lists: {items, next_cursor, limit}. Authenticate with a bearer token (JWT) in production; X-User-Id in development.',
          },
          components: {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
              devUser: { type: 'apiKey', in: 'header', name: 'X-User-Id' },
            },
          },
          security: [{ bearer: [] }, { devUser: [] }],
        },
        exclude: { paths: ['/swagger', '/swagger/assets/:name'] },
      }),
    )
    .use(guard)
    .get(
      '/swagger',
      ({ set }) => {
        set.headers['content-type'] = 'text/html; charset=utf-8'
        set.headers['content-security-policy'] = SWAGGER_CSP
        return PAGE
      },
      { permission: 'public', detail: { hide: true } },
    )
    .get(
      '/swagger/assets/:name',
      async ({ params, set }) => {
        if (params.name === 'init.js') {
          set.headers['content-type'] = 'text/javascript; charset=utf-8'
          return INIT
        }
        const type = own(UI_FILES, params.name)
        if (!type) throw notFound('Asset')
        const file = await existingFile(`${SWAGGER_DIST}/${params.name}`)
        set.headers['content-type'] = type
        set.headers['cache-control'] = 'public, max-age=86400'
        return file
      },
      { permission: 'public', detail: { hide: true } },
    )
