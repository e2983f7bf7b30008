/** PAYMENTS_WEBHOOK_SECRET and PAYMENTS_PROOF_SECRET: dev defaults outside production, none in production, the defaults refused there. */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../src/config'

const PRODUCTION = {
  APP_ENV: 'production',
  AUTH_MODE: 'prod',
  JWT_SECRET: 'j'.repeat(40),
  SESSION_SECRET: 's'.repeat(40),
}

const refusal = (env: Record<string, string>) => {
  try {
    loadConfig(env)
  } catch (error) {
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('payment secrets', () => {
  test('development and test have working defaults and a 5-minute tolerance', () => {
    for (const APP_ENV of ['development', 'test']) {
      const { payments } = loadConfig({ APP_ENV })
      expect(payments.webhookSecret?.length).toBeGreaterThanOrEqual(32)
      expect(payments.proofSecret?.length).toBeGreaterThanOrEqual(32)
      expect(payments.webhookToleranceSeconds).toBe(300)
    }
  })

  test('production has none unless set (payments are then refused), and takes set values', () => {
    expect(loadConfig(PRODUCTION).payments).toMatchObject({ webhookSecret: null, proofSecret: null })
    const set = loadConfig({ ...PRODUCTION, PAYMENTS_WEBHOOK_SECRET: 'h'.repeat(40), PAYMENTS_PROOF_SECRET: 'p'.repeat(40) })
    expect(set.payments).toMatchObject({ webhookSecret: 'h'.repeat(40), proofSecret: 'p'.repeat(40) })
  })

  test('production refuses the built-in development values, naming the variable', () => {
    const dev = loadConfig({ APP_ENV: 'development' }).payments
    const webhook = refusal({ ...PRODUCTION, PAYMENTS_WEBHOOK_SECRET: dev.webhookSecret! })
    expect(webhook).toBeInstanceOf(ConfigError)
    expect(webhook.variable).toBe('PAYMENTS_WEBHOOK_SECRET')
    expect(webhook.message).toMatch(/production/)
    expect(refusal({ ...PRODUCTION, PAYMENTS_PROOF_SECRET: dev.proofSecret! }).variable).toBe('PAYMENTS_PROOF_SECRET')
  })

  test('short secrets and a bad tolerance are refused anywhere', () => {
    expect(refusal({ APP_ENV: 'development', PAYMENTS_WEBHOOK_SECRET: 'short' }).variable).toBe('PAYMENTS_WEBHOOK_SECRET')
    expect(refusal({ APP_ENV: 'development', PAYMENTS_PROOF_SECRET: 'short' }).variable).toBe('PAYMENTS_PROOF_SECRET')
    expect(refusal({ APP_ENV: 'development', PAYMENTS_WEBHOOK_TOLERANCE_S: '0' }).variable).toBe('PAYMENTS_WEBHOOK_TOLERANCE_S')
  })
})
