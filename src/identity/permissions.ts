/**
 * The permission names routes declare (`permission: 'sessions:run'`) and actors
 * hold. The names are ground-floor vocabulary, so an Actor can carry them
 * typed; which role grants which is policy, in plugins/rbac/matrix.ts.
 */
export const PERMISSIONS = [
  'me:read',
  'sessions:create',
  'sessions:read',
  'sessions:run',
  'sessions:delete',
  'sessions:hard_delete',
  'jobs:read',
  'jobs:cancel',
  'agents:list',
  'agents:invoke',
  'palettes:read',
  'palettes:manage',
  'payments:checkout',
  'payments:webhook',
  'roadmap:read',
  'roadmap:manage',
  'tickets:read',
  'tickets:create',
  'tickets:update',
  'docs:read',
  'status:read',
  'tokens:manage',
  'admin:view',
  'metrics:read',
  'audit:read',
  'audit:export',
  'rbac:manage',
  'limits:manage',
  'incidents:manage',
  'jobs:manage',
  'retention:manage',
  'users:export',
  'users:purge',
] as const

export type Permission = (typeof PERMISSIONS)[number]
/** `public` is declared by routes anyone may call, signed in or not. */
export type RoutePermission = Permission | 'public'

/**
 * Declared by routes landing in issues 11–13 (the status page; retention and user
 * purges): the matrix grants them already, so the roles are settled before the routes
 * arrive. Every other permission must be declared or checked by a route, and a name
 * leaves this list when its route lands (both checked by plugins/rbac/matrix.test.ts).
 */
export const AWAITING_ROUTES: readonly Permission[] = ['retention:manage']

export const isPermission = (value: string): value is Permission => (PERMISSIONS as readonly string[]).includes(value)
