/**
 * The one permission matrix. A role grants permissions; a deny entry removes a
 * permission whatever else grants it (deny beats any grant). Every signed-in
 * person holds `user`; other roles come from role bindings or the JWT roles claim.
 * `agents:invoke` is granted to the roles in AGENT_ROLE_ALLOWLIST (see grantsFor).
 * The permission names themselves are the kernel's vocabulary (src/identity/permissions.ts).
 */
import { own } from '../../src/lookup'
import type { Permission } from '../../src/identity/permissions'

export const BUILT_IN_ROLES = ['user', 'auditor', 'admin'] as const

/** The role of a payment provider's signed webhook call (plugins/auth). */
export const PAYMENT_PROVIDER_ROLE = 'payments-provider'

interface RoleRule {
  allow: readonly Permission[]
  deny?: readonly Permission[]
}

const MEMBER: readonly Permission[] = [
  'me:read',
  'sessions:create',
  'sessions:read',
  'sessions:run',
  'sessions:delete',
  'jobs:read',
  'jobs:cancel',
  'agents:list',
  'palettes:read',
  'payments:checkout',
  'roadmap:read',
  'tickets:read',
  'tickets:create',
  'docs:read',
  'status:read',
  'tokens:manage',
]

export const MATRIX: Record<string, RoleRule> = {
  user: { allow: MEMBER },
  // Auditors read the trail and the figures, never the content of others' sessions
  // (session routes are owner-scoped, so that holds by construction).
  auditor: { allow: ['admin:view', 'metrics:read', 'audit:read', 'audit:export'] },
  admin: {
    allow: [
      'admin:view',
      'metrics:read',
      'audit:read',
      'audit:export',
      'rbac:manage',
      'limits:manage',
      'retention:manage',
      'roadmap:manage',
      'palettes:manage',
      'tickets:update',
      'sessions:hard_delete',
      'users:export',
      'users:purge',
    ],
  },
  // The payment provider, a machine: the authenticator gives this role only to a request whose
  // X-Signature verifies over its raw body, and the webhook also refuses any other caller.
  [PAYMENT_PROVIDER_ROLE]: { allow: ['payments:webhook'] },
  // A role that may read but must never change anything; shows deny in use.
  readonly: { allow: [], deny: ['sessions:create', 'sessions:run', 'sessions:delete', 'tickets:create', 'payments:checkout'] },
}

/**
 * The effective permissions of a set of roles.
 * @example
 * permissionsFor(['user', 'ADMIN_AGENT'], ['ADMIN_AGENT']).has('agents:invoke') // true
 */
export function permissionsFor(roles: readonly string[], agentRoleAllowlist: readonly string[]): Set<Permission> {
  const granted = new Set<Permission>()
  const denied = new Set<Permission>()
  for (const role of roles) {
    const rule = own(MATRIX, role)
    for (const permission of rule?.allow ?? []) granted.add(permission)
    for (const permission of rule?.deny ?? []) denied.add(permission)
    if (agentRoleAllowlist.includes(role)) granted.add('agents:invoke')
  }
  for (const permission of denied) granted.delete(permission)
  return granted
}
