/**
 * The rbac guard on a bare Elysia app with a stand-in authenticator: a route
 * declares `permission`; 'public' lets anyone in (as the anonymous actor), a
 * missing identity is 401, a permission the caller's roles lack is 403 naming
 * it, and the handler gets the actor and the request's meta, whose audit actor
 * is derived once from the caller. Each resolver carries its permission, so
 * tests can walk app.routes. The matrix itself: matrix.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import type { Actor, Authenticator } from '../../src/identity'
import { errors } from '../errors'
import { logging } from '../logging'
import { createLogger } from '../logging/logger'
import { rbac, type TaggedResolver } from '.'
import { permissionsFor } from './matrix'

const actorOf = (email: string, roles: string[]): Actor => ({
  userId: `u-${email}`,
  externalId: email,
  email,
  roles,
  role: roles.includes('admin') ? 'admin' : 'user',
  permissions: permissionsFor(roles, []),
  via: 'header',
})

/** Reads "email;role,role" from X-Who; a request without it has no identity. */
const authenticator: Authenticator = {
  clientIp: ({ request }) => request.headers.get('x-forwarded-for'),
  async authenticate({ request }) {
    const who = request.headers.get('x-who')
    if (!who) return null
    const [email, roles] = who.split(';')
    return actorOf(email!, ['user', ...(roles ? roles.split(',') : [])])
  },
}

const logger = createLogger({ level: 'error', sink: () => undefined })
const app = new Elysia()
  .use(logging({ logger }))
  .use(errors({ logger }))
  .use(rbac({ authenticator }))
  .get('/open', ({ actor, meta }) => ({ email: actor.email, audit: meta.audit }), { permission: 'public' })
  .get('/mine', ({ actor, meta }) => ({ email: actor.email, audit: meta.audit, ip: meta.ip }), { permission: 'sessions:read' })
  .delete('/hard', () => ({ gone: true }), { permission: 'sessions:hard_delete' })

const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
  const res = await app.handle(new Request(`http://localhost${path}`, { method, headers }))
  return { status: res.status, headers: res.headers, body: (await res.json()) as any }
}

describe('the permission macro', () => {
  test("'public' routes answer anyone; without an identity the actor is anonymous", async () => {
    const res = await call('GET', '/open', { 'x-request-id': 'public-probe-01' })
    expect(res.status).toBe(200)
    const requestId = res.headers.get('x-request-id')
    expect(res.body).toEqual({ email: 'anonymous', audit: { actorId: null, actor: 'anonymous', role: 'anonymous', requestId, clientRequestId: 'public-probe-01', ip: null } })
  })

  test('a guarded route without an identity is 401 unauthenticated, in the error shape', async () => {
    const res = await call('GET', '/mine')
    expect(res.status).toBe(401)
    expect(res.body.error).toMatchObject({ code: 'unauthenticated', request_id: res.headers.get('x-request-id') })
  })

  test("a permission the caller's roles do not grant is 403 naming it and the roles", async () => {
    const res = await call('DELETE', '/hard', { 'x-who': 'ann@example.com' })
    expect(res.status).toBe(403)
    expect(res.body.error.code).toBe('forbidden')
    expect(res.body.error.message).toContain('"sessions:hard_delete"')
    expect(res.body.error.message).toContain('(user)')
    expect(await call('DELETE', '/hard', { 'x-who': 'boss@example.com;admin' })).toMatchObject({ status: 200, body: { gone: true } })
  })

  test('the handler gets the actor, and meta with the request id, the address and the audit actor of the request', async () => {
    const res = await call('GET', '/mine', { 'x-who': 'boss@example.com;admin', 'x-request-id': 'guarded-probe-1', 'x-forwarded-for': '10.1.2.3' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      email: 'boss@example.com',
      ip: '10.1.2.3',
      audit: { actorId: 'u-boss@example.com', actor: 'boss@example.com', role: 'admin', requestId: res.headers.get('x-request-id'), clientRequestId: 'guarded-probe-1', ip: '10.1.2.3' },
    })
  })

  test('every route carries exactly the permission it declared on its resolver', () => {
    // Elysia runs a macro's resolve as a beforeHandle hook, wrapped as { fn } once the route is compiled.
    type Hook = Partial<TaggedResolver> & { fn?: Partial<TaggedResolver> }
    const declared = app.routes.map((route) => {
      const hooks = ((route.hooks as { beforeHandle?: Hook[] }).beforeHandle ?? []).map((hook) => hook.fn?.permission ?? hook.permission)
      return [route.method, route.path, hooks.filter(Boolean)]
    })
    expect(declared).toEqual([
      ['GET', '/open', ['public']],
      ['GET', '/mine', ['sessions:read']],
      ['DELETE', '/hard', ['sessions:hard_delete']],
    ])
  })
})
