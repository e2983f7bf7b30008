/**
 * RBAC across every endpoint (SPEC §5, seed M4.T7/M4.T8): every registered
 * route declares exactly one permission (the guard tags its resolver with it,
 * see plugins/rbac TaggedResolver), and for every route × every role the app
 * answers as the one matrix says — allowed: anything but 403; denied: 403 in
 * the error shape. The walk reads `createApp(…).routes`, so a route added later
 * is covered without touching this file; it builds a valid request for each
 * route from the route's own schemas (validation runs before the guard, so an
 * invalid request would answer 422 and hide the decision).
 */
import { describe, expect, test } from 'bun:test'
import { permissionsFor } from '../../plugins/rbac/matrix'
import { isPermission, type RoutePermission } from '../../src/identity/permissions'
import { expectErrorShape, useApp } from './support'

/**
 * The OpenAPI plugin registers /swagger/json itself (no guard can be attached
 * to it); it serves the public API description only. Every other route,
 * including the Swagger UI we serve, goes through the guard.
 */
const EXEMPT = new Set(['GET /swagger/json'])

const ROLES = ['user', 'auditor', 'admin', 'ADMIN_AGENT', 'readonly'] as const

interface Hooks {
  beforeHandle?: Array<{ fn?: { permission?: RoutePermission }; permission?: RoutePermission }>
  body?: Schema
  query?: Schema
  headers?: Schema
}
interface Schema {
  type?: string
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  default?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  minItems?: number
  items?: Schema
}

const declaredPermissions = (route: { hooks: unknown }): RoutePermission[] =>
  ((route.hooks as Hooks).beforeHandle ?? []).map((hook) => hook.fn?.permission ?? hook.permission).filter((p): p is RoutePermission => Boolean(p))

const SAMPLE_ID = '0190a0b0-0000-7000-8000-000000000000'
const STRING_CANDIDATES = ['probe', 'default', 'probe-1', 'probe_role', SAMPLE_ID, 'a']

/** A value the schema accepts: required properties only, the smallest valid strings and numbers. */
function sample(schema: Schema | undefined, key = ''): unknown {
  if (!schema) return undefined
  if (schema.default !== undefined) return schema.default
  if (schema.const !== undefined) return schema.const
  if (Array.isArray(schema.enum)) return schema.enum[0]
  if (schema.anyOf?.length) return sample(schema.anyOf[0], key)
  switch (schema.type) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties?.[name], name)]))
    case 'number':
    case 'integer':
      return schema.minimum ?? 1
    case 'boolean':
      return false
    case 'array':
      return schema.minItems ? [sample(schema.items)] : []
    default:
      return sampleString(schema, key)
  }
}

function sampleString(schema: Schema, key: string): string {
  if (schema.format === 'numeric') return '1'
  if (schema.format === 'email' || key === 'email') return 'route-walk@example.com'
  if (schema.format === 'date-time') return new Date().toISOString()
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern)
    const found = STRING_CANDIDATES.find((candidate) => pattern.test(candidate))
    if (!found) throw new Error(`no sample string matches ${schema.pattern} (field "${key}"); add one to STRING_CANDIDATES`)
    return found
  }
  return 'probe'.padEnd(schema.minLength ?? 0, 'e').slice(0, schema.maxLength ?? 100)
}

/** A request for the route that passes validation, so the guard's decision is what answers. */
function requestFor(route: { method: string; path: string; hooks: unknown }, user: string, role: string): Request {
  const hooks = route.hooks as Hooks
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => (name === 'id' ? SAMPLE_ID : 'probe'))
  const query = new URLSearchParams(
    Object.entries((sample(hooks.query) ?? {}) as Record<string, unknown>).map(([name, value]) => [name, String(value)]),
  ).toString()
  const headers: Record<string, string> = { 'x-user-id': user }
  for (const [name, value] of Object.entries((sample(hooks.headers) ?? {}) as Record<string, unknown>)) headers[name] = String(value)
  if (role !== 'user') headers['x-role'] = role
  let body: string | undefined
  if (!['GET', 'HEAD'].includes(route.method) && hooks.body) {
    body = JSON.stringify(sample(hooks.body))
    headers['content-type'] = 'application/json'
  }
  return new Request(`http://localhost${path}${query ? `?${query}` : ''}`, { method: route.method, headers, body })
}

describe('every route declares its permission', () => {
  const app = useApp()

  test('each route (but the OpenAPI plugin’s own JSON) has exactly one permission resolver', () => {
    const undeclared: string[] = []
    for (const route of app().app.routes) {
      if (EXEMPT.has(`${route.method} ${route.path}`)) continue
      const declared = declaredPermissions(route)
      if (declared.length !== 1) undeclared.push(`${route.method} ${route.path} (${declared.length})`)
    }
    expect(undeclared).toEqual([])
  })

  test('every declared permission is one the matrix knows (or public)', () => {
    const unknown = app()
      .app.routes.flatMap((route) => declaredPermissions(route).map((permission) => ({ route: `${route.method} ${route.path}`, permission })))
      .filter(({ permission }) => permission !== 'public' && !isPermission(permission))
    expect(unknown).toEqual([])
  })

  test('API routes other than health are not public', () => {
    const publicApi = app()
      .app.routes.filter((route) => route.path.startsWith('/api/'))
      .filter((route) => declaredPermissions(route).includes('public'))
      .map((route) => `${route.method} ${route.path}`)
    expect(publicApi).toEqual([])
  })

  test('no admin route or page is open to a plain member', () => {
    const t = app()
    const member = permissionsFor(['user'], t.config.agentRoleAllowlist)
    const open = t.app.routes
      .filter((route) => route.path.startsWith('/api/admin') || route.path.startsWith('/admin'))
      .filter((route) => declaredPermissions(route).some((permission) => permission === 'public' || member.has(permission)))
      .map((route) => `${route.method} ${route.path}`)
    expect(open).toEqual([])
  })

  test('admin routes are guarded by administrative permissions', () => {
    const expected: Record<string, RoutePermission> = {
      'GET /api/admin/role-bindings': 'rbac:manage',
      'POST /api/admin/role-bindings': 'rbac:manage',
      'DELETE /api/admin/role-bindings/:id': 'rbac:manage',
      'GET /api/admin/audit': 'audit:read',
      'GET /admin': 'admin:view',
      'GET /admin/rbac': 'rbac:manage',
      'POST /admin/rbac/bindings': 'rbac:manage',
      'POST /admin/rbac/bindings/:id/delete': 'rbac:manage',
      'GET /admin/audit': 'audit:read',
    }
    const declared = new Map(app().app.routes.map((route) => [`${route.method} ${route.path}`, declaredPermissions(route)[0]]))
    const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, declared.get(key)]))
    expect(actual).toEqual(expected)
  })
})

describe('every route × every role answers as the matrix says', () => {
  const app = useApp()

  for (const role of ROLES) {
    test(`role ${role}: allowed routes are not 403, denied routes are 403 in the error shape`, async () => {
      const t = app()
      const roles = role === 'user' ? ['user'] : ['user', role]
      const permissions = permissionsFor(roles, t.config.agentRoleAllowlist)
      const user = `route-walk-${role.toLowerCase()}@example.com`
      const wrong: string[] = []
      let denied = 0
      for (const route of t.app.routes) {
        const key = `${route.method} ${route.path}`
        if (EXEMPT.has(key)) continue
        const [permission] = declaredPermissions(route)
        const allowed = permission === 'public' || permissions.has(permission!)
        const res = await t.app.handle(requestFor(route, user, role))
        const text = await res.text()
        if (allowed && res.status === 403) wrong.push(`${key} (${permission}) allowed but answered 403: ${text.slice(0, 200)}`)
        if (!allowed) {
          denied++
          if (res.status !== 403) wrong.push(`${key} (${permission}) denied but answered ${res.status}: ${text.slice(0, 200)}`)
          else {
            const body = JSON.parse(text)
            expectErrorShape(expect, { status: res.status, body, headers: res.headers }, 403, 'forbidden')
            expect(body.error.message).toContain(permission)
          }
        }
      }
      expect(wrong).toEqual([])
      // Guard against a vacuous pass: every role is refused something (admins, for one, the agent proxy).
      expect(denied).toBeGreaterThan(0)
    })
  }
})
