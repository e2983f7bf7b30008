/**
 * The one guard. Every route declares `permission` (a Permission, or 'public');
 * the macro authenticates the caller, checks the matrix and resolves `actor`.
 * A missing identity is 401, a missing permission 403, both in the error shape.
 */
import { Elysia } from 'elysia'
import { forbidden, unauthenticated } from '../../src/errors'
import { ANONYMOUS, auditActorOf, type Actor, type AuditActor, type Authenticator } from '../../src/identity'
import type { RoutePermission } from '../../src/identity/permissions'
import { requestState } from '../logging'

/** What services need to know of the request for logs and audit. */
export interface RequestMeta {
  requestId: string
  ip: string | null
  /** Derived once per request from the caller; every audit write of the request uses it. */
  audit: AuditActor
}

export interface RbacOptions {
  authenticator: Authenticator
}

/** The guard tags its resolver with the declared permission so tests can walk app.routes. */
export type TaggedResolver = ((...args: never[]) => unknown) & { permission: RoutePermission }

/**
 * @example
 * new Elysia().use(rbac({ authenticator })).get('/me', ({ actor }) => actor, { permission: 'me:read' })
 */
export const rbac = ({ authenticator }: RbacOptions) =>
  new Elysia({ name: 'plugin/rbac' }).macro({
    permission: (permission: RoutePermission) => ({
      resolve: Object.assign(
        async ({ request, cookie, body, server }: Parameters<Authenticator['authenticate']>[0]) => {
          const found = await authenticator.authenticate({ request, cookie, body, server })
          const state = requestState(request)
          if (state && found) state.user = found.email
          const requestId = state?.requestId ?? 'unknown'
          const ip = authenticator.clientIp({ request, server })
          const who = found ?? ANONYMOUS
          const meta: RequestMeta = { requestId, ip, audit: auditActorOf(who, requestId, ip, state?.clientRequestId) }
          if (permission === 'public') return { actor: found ?? ANONYMOUS, meta }
          if (!found) throw unauthenticated()
          if (!found.permissions.has(permission))
            throw forbidden(
              `Your roles (${found.roles.join(', ')}) do not grant "${permission}". Ask an administrator for a role that does.`,
            )
          return { actor: found as Actor, meta }
        },
        { permission },
      ),
    }),
  })
