/**
 * The one permission matrix (plugins/rbac/matrix.ts): roles grant, deny beats
 * any grant, AGENT_ROLE_ALLOWLIST grants agents:invoke and nothing else.
 */
import { describe, expect, test } from 'bun:test'
import { BUILT_IN_ROLES, MATRIX, permissionsFor } from './matrix'
import { AWAITING_ROUTES, isPermission, PERMISSIONS } from '../../src/identity/permissions'

const ALLOWLIST = ['GODMODE', 'SUPER_ADMIN', 'ADMIN_AGENT']
const ADMIN_ONLY = ['rbac:manage', 'limits:manage', 'jobs:manage', 'retention:manage', 'sessions:hard_delete', 'users:purge', 'roadmap:manage'] as const

describe('permissionsFor', () => {
  test('a member may work with their own sessions but not administer', () => {
    const member = permissionsFor(['user'], ALLOWLIST)
    for (const permission of ['me:read', 'sessions:create', 'sessions:read', 'sessions:run', 'sessions:delete', 'jobs:read'] as const)
      expect(member.has(permission)).toBe(true)
    for (const permission of [...ADMIN_ONLY, 'audit:read', 'admin:view', 'agents:invoke'] as const)
      expect(member.has(permission)).toBe(false)
  })

  test('admin adds administration, including hard delete, on top of user', () => {
    const admin = permissionsFor(['user', 'admin'], ALLOWLIST)
    for (const permission of ADMIN_ONLY) expect(admin.has(permission)).toBe(true)
    expect(admin.has('sessions:create')).toBe(true)
  })

  test('auditor reads the trail and figures, and cannot manage or hard-delete', () => {
    const auditor = permissionsFor(['user', 'auditor'], ALLOWLIST)
    for (const permission of ['audit:read', 'audit:export', 'metrics:read', 'admin:view'] as const)
      expect(auditor.has(permission)).toBe(true)
    for (const permission of ADMIN_ONLY) expect(auditor.has(permission)).toBe(false)
  })

  test('deny beats grant: readonly removes what user grants', () => {
    const readonly = permissionsFor(['user', 'readonly'], ALLOWLIST)
    expect(permissionsFor(['user'], ALLOWLIST).has('sessions:create')).toBe(true)
    for (const permission of MATRIX.readonly!.deny!) expect(readonly.has(permission)).toBe(false)
    // What is not denied stays granted.
    expect(readonly.has('sessions:read')).toBe(true)
    expect(readonly.has('me:read')).toBe(true)
  })

  test('deny beats grant whatever the order of roles, and even against admin', () => {
    const a = permissionsFor(['readonly', 'user', 'admin'], ALLOWLIST)
    const b = permissionsFor(['admin', 'user', 'readonly'], ALLOWLIST)
    expect([...a].sort()).toEqual([...b].sort())
    expect(a.has('sessions:create')).toBe(false)
    expect(a.has('sessions:delete')).toBe(false)
    expect(a.has('rbac:manage')).toBe(true)
  })

  test('a role in the allowlist grants agents:invoke', () => {
    for (const role of ALLOWLIST) expect(permissionsFor(['user', role], ALLOWLIST).has('agents:invoke')).toBe(true)
  })

  test('the allowlist is configuration: a role outside it does not invoke agents, whatever its name', () => {
    expect(permissionsFor(['user', 'GODMODE'], ['OPS']).has('agents:invoke')).toBe(false)
    expect(permissionsFor(['user', 'OPS'], ['OPS']).has('agents:invoke')).toBe(true)
    expect(permissionsFor(['user', 'admin'], ALLOWLIST).has('agents:invoke')).toBe(false)
  })

  test('an allowlisted role grants agents:invoke only, not administration', () => {
    const agentOperator = permissionsFor(['ADMIN_AGENT'], ALLOWLIST)
    expect([...agentOperator]).toEqual(['agents:invoke'])
  })

  test('unknown roles and no roles grant nothing', () => {
    expect(permissionsFor([], ALLOWLIST).size).toBe(0)
    expect(permissionsFor(['superuser', 'root'], ALLOWLIST).size).toBe(0)
  })

  test('the result is a fresh set each time (mutating it does not leak into the next caller)', () => {
    const first = permissionsFor(['user'], ALLOWLIST)
    first.add('rbac:manage')
    expect(permissionsFor(['user'], ALLOWLIST).has('rbac:manage')).toBe(false)
  })
})

describe('the matrix itself', () => {
  test('every permission it names exists', () => {
    for (const [role, rule] of Object.entries(MATRIX)) {
      for (const permission of [...rule.allow, ...(rule.deny ?? [])])
        expect({ role, permission, known: isPermission(permission) }).toEqual({ role, permission, known: true })
    }
  })

  test('the built-in roles are defined', () => {
    for (const role of BUILT_IN_ROLES) expect(MATRIX[role]).toBeDefined()
  })

  test('every permission is reachable by some role or the allowlist', () => {
    const reachable = permissionsFor([...Object.keys(MATRIX).filter((role) => role !== 'readonly'), 'GODMODE'], ALLOWLIST)
    for (const permission of PERMISSIONS) expect({ permission, reachable: reachable.has(permission) }).toEqual({ permission, reachable: true })
  })

  test('no dead permission: each is declared or checked by a route, or awaits the routes of issues 11–13', async () => {
    const root = `${import.meta.dir}/../..`
    const vocabulary = new Set(['src/identity/permissions.ts', 'plugins/rbac/matrix.ts'])
    let code = ''
    for (const pattern of ['src/**/*.{ts,tsx}', 'plugins/**/*.ts', 'views/**/*.tsx'])
      for await (const file of new Bun.Glob(pattern).scan(root))
        if (!file.endsWith('.test.ts') && !vocabulary.has(file)) code += await Bun.file(`${root}/${file}`).text()
    const used = (permission: string) => code.includes(`'${permission}'`)
    expect({ 'neither used nor awaiting routes': PERMISSIONS.filter((permission) => !used(permission) && !AWAITING_ROUTES.includes(permission)) }).toEqual({
      'neither used nor awaiting routes': [],
    })
    expect({ 'used by a route now: remove from AWAITING_ROUTES': AWAITING_ROUTES.filter(used) }).toEqual({
      'used by a route now: remove from AWAITING_ROUTES': [],
    })
  })

  test('isPermission rejects look-alikes', () => {
    expect(isPermission('sessions:read')).toBe(true)
    expect(isPermission('sessions:*')).toBe(false)
    expect(isPermission('public')).toBe(false)
    expect(isPermission('SESSIONS:READ')).toBe(false)
  })
})
