/** GET /api/v1/me: who the caller is, with roles and effective permissions. */
import { Elysia, t } from 'elysia'
import type { rbac } from '../../../plugins/rbac'

const MeResponse = t.Object({
  id: t.String(),
  external_id: t.String(),
  email: t.String(),
  roles: t.Array(t.String()),
  permissions: t.Array(t.String()),
})

export const meModule = ({ guard }: { guard: ReturnType<typeof rbac> }) =>
  new Elysia({ name: 'module/me' }).use(guard).get(
    '/api/v1/me',
    ({ actor }) => ({
      id: actor.userId,
      external_id: actor.externalId,
      email: actor.email,
      roles: actor.roles,
      permissions: [...actor.permissions].sort(),
    }),
    { permission: 'me:read', response: MeResponse, detail: { tags: ['identity'], summary: 'The caller' } },
  )
