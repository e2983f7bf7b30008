/**
 * The search plugin: a WebSearch chosen by configuration. DISABLE_WEB_SEARCH
 * wins over WEB_SEARCH_PROVIDER, so the kill switch needs no other change:
 * the backend it selects refuses every query without opening a connection.
 */
import type { Config } from '../../src/config'
import { createDisabledSearch, createNoneSearch } from './none'
import { createSearxngSearch } from './searxng'
import type { WebSearch } from './types'

export * from './types'

export { createSearxngSearch,  } from './searxng'

/**
 * @example
 * const search = createWebSearch(config)
 * if (wantsWeb && !search.enabled) throw forbidden('…', 'web_search_disabled')
 * const results = await search.search(question, { limit: 5, signal })
 */
export function createWebSearch(config: Config, deps: { fetch?: typeof fetch } = {}): WebSearch {
  if (config.features.disableWebSearch) return createDisabledSearch()
  if (config.search.provider === 'searxng' && config.search.searxngUrl)
    return createSearxngSearch({ url: config.search.searxngUrl, timeoutMs: config.search.timeoutMs, fetch: deps.fetch })
  return createNoneSearch()
}
