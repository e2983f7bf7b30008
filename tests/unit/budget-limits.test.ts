/** Limit resolution: user override > most generous role override > default, each budget on its own. */
import { describe, expect, test } from 'bun:test'
import { resolveLimits, type LimitOverride } from '../../src/modules/budgets/limits'

const defaults = { tokens: 200_000, cost: 5_000_000 }
const user = (subject: string, dailyTokens: number | null, dailyCostMicroUsd: number | null = null): LimitOverride => ({
  scope: 'user',
  subject,
  dailyTokens,
  dailyCostMicroUsd,
})
const role = (subject: string, dailyTokens: number | null, dailyCostMicroUsd: number | null = null): LimitOverride => ({
  scope: 'role',
  subject,
  dailyTokens,
  dailyCostMicroUsd,
})
const alice = { userId: 'u-alice', roles: ['user', 'analyst'] }

describe('resolveLimits', () => {
  test('no overrides: the defaults', () => {
    expect(resolveLimits([], alice, defaults)).toEqual(defaults)
  })

  test("the user's own override wins over their roles', even when it is lower", () => {
    expect(resolveLimits([role('analyst', 900_000), user('u-alice', 1_000)], alice, defaults).tokens).toBe(1_000)
  })

  test('among the roles the user holds, the most generous applies', () => {
    const rows = [role('user', 250_000), role('analyst', 400_000), role('admin', 9_000_000)]
    expect(resolveLimits(rows, alice, defaults).tokens).toBe(400_000)
  })

  test('a role override also wins when it is below the default', () => {
    expect(resolveLimits([role('user', 10)], alice, defaults).tokens).toBe(10)
  })

  test('each budget resolves on its own: a null budget inherits from the next level', () => {
    const rows = [user('u-alice', 300_000, null), role('analyst', null, 12_500_000)]
    expect(resolveLimits(rows, alice, defaults)).toEqual({ tokens: 300_000, cost: 12_500_000 })
    expect(resolveLimits([user('u-alice', null, 7)], alice, defaults)).toEqual({ tokens: 200_000, cost: 7 })
  })

  test("other users' overrides and roles the user does not hold do not apply", () => {
    const rows = [user('u-bob', 1), role('admin', 1, 1)]
    expect(resolveLimits(rows, alice, defaults)).toEqual(defaults)
  })

  test('a zero limit is a limit, not "unset"', () => {
    expect(resolveLimits([user('u-alice', 0, 0)], alice, defaults)).toEqual({ tokens: 0, cost: 0 })
    expect(resolveLimits([role('analyst', 0), role('user', null)], alice, defaults).tokens).toBe(0)
  })

  test('a user override row names the user by id, a role row by name: the scopes do not mix', () => {
    // A role named like the user's id must not act as the user's own override, nor a user id as a role.
    expect(resolveLimits([role('u-alice', 5)], alice, defaults).tokens).toBe(defaults.tokens)
    expect(resolveLimits([user('analyst', 5)], alice, defaults).tokens).toBe(defaults.tokens)
  })
})
