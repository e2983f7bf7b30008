/** The default backends: neither ever sends a request. */
import { WebSearchError, type WebSearch } from './types'

/**
 * WEB_SEARCH_PROVIDER=none: web search is not set up on this install.
 * @example
 * const search = createNoneSearch()
 * search.enabled // false
 */
export function createNoneSearch(): WebSearch {
  return {
    provider: 'none',
    enabled: false,
    async search() {
      throw new WebSearchError(
        'web_search_not_configured',
        'Web search is not configured on this server (WEB_SEARCH_PROVIDER=none); ask an administrator to set up SearXNG.',
      )
    },
  }
}

/**
 * DISABLE_WEB_SEARCH=true: the kill switch. Whatever the provider, no query leaves the server.
 * @example
 * await createDisabledSearch().search('q') // throws WebSearchError web_search_disabled
 */
export function createDisabledSearch(): WebSearch {
  return {
    provider: 'disabled',
    enabled: false,
    async search() {
      throw new WebSearchError('web_search_disabled', 'Web search is disabled on this server (DISABLE_WEB_SEARCH=true).')
    },
  }
}
