/** The search settings of loadConfig: defaults, SEARXNG_URL validation, and the required URL. */
import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../../../src/config'

function refusal(env: Record<string, string>): ConfigError {
  let thrown: unknown
  try {
    loadConfig({ APP_ENV: 'test', ...env })
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ConfigError)
  return thrown as ConfigError
}

describe('search config', () => {
  test('defaults: provider none, no URL, 5 s timeout, web search allowed', () => {
    const config = loadConfig({ APP_ENV: 'test' })
    expect(config.search).toEqual({ provider: 'none', searxngUrl: null, timeoutMs: 5000 })
    expect(config.features.disableWebSearch).toBe(false)
  })

  test('searxng with a URL; a trailing slash is dropped', () => {
    const config = loadConfig({ APP_ENV: 'test', WEB_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: 'http://searxng:8080/', SEARXNG_TIMEOUT_MS: '2500' })
    expect(config.search).toEqual({ provider: 'searxng', searxngUrl: 'http://searxng:8080', timeoutMs: 2500 })
  })

  test('searxng without SEARXNG_URL is refused naming SEARXNG_URL', () => {
    const error = refusal({ WEB_SEARCH_PROVIDER: 'searxng' })
    expect(error.variable).toBe('SEARXNG_URL')
    expect(error.message).toContain('WEB_SEARCH_PROVIDER=searxng')
  })

  test.each([
    ['ftp://searxng', 'http(s)'],
    ['not a url', 'http(s)'],
    ['http://searxng/search?q=x', 'without ?query'],
    ['http://user:pw@searxng', 'credentials'],
  ])('SEARXNG_URL=%p is refused (%s)', (value, words) => {
    const error = refusal({ WEB_SEARCH_PROVIDER: 'searxng', SEARXNG_URL: value })
    expect(error.variable).toBe('SEARXNG_URL')
    expect(error.message).toContain(words)
  })

  test('an unknown provider and an out-of-range timeout name their variable', () => {
    expect(refusal({ WEB_SEARCH_PROVIDER: 'google' }).variable).toBe('WEB_SEARCH_PROVIDER')
    expect(refusal({ SEARXNG_TIMEOUT_MS: '10' }).variable).toBe('SEARXNG_TIMEOUT_MS')
  })
})
