/** METRICS_TOKEN and METRICS_PORT are read and checked at boot (src/config). The plugin itself: plugins/metrics/index.test.ts. */
import { describe, expect, test } from 'bun:test'
import { ConfigError, testConfig } from '../../src/config'

describe('METRICS_TOKEN and METRICS_PORT', () => {
  const fails = (env: Record<string, string>) => {
    try {
      testConfig(env)
      return null
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return (error as ConfigError).variable
    }
  }

  test('default: no token, no worker metrics port', () => {
    expect(testConfig().metrics).toEqual({ token: null, port: null })
  })

  test('valid values are read', () => {
    expect(testConfig({ METRICS_TOKEN: 'a-long-enough-token', METRICS_PORT: '9464' }).metrics).toEqual({ token: 'a-long-enough-token', port: 9464 })
  })

  test('a short token, one with spaces, or a bad port stops start-up naming the variable', () => {
    expect(fails({ METRICS_TOKEN: 'short' })).toBe('METRICS_TOKEN')
    expect(fails({ METRICS_TOKEN: 'has spaces inside it ok' })).toBe('METRICS_TOKEN')
    expect(fails({ METRICS_PORT: 'http' })).toBe('METRICS_PORT')
    expect(fails({ METRICS_PORT: '70000' })).toBe('METRICS_PORT')
  })
})
