/**
 * Rendered markdown of stored council outputs. A finished output never changes
 * (the stage-output store never replaces one), and a running council's page is
 * rendered again and again (its polling fallback, every tab's `done`), so each
 * output is rendered once (~1 ms with marked and sanitize-html) and kept in a
 * small bounded cache keyed by the output and the question it may quote.
 */
import { renderMarkdown } from '../../markdown'

const MAX_ENTRIES = 1000
const cache = new Map<string, string>()

/**
 * @example
 * const html = renderOutput(row.id, row.content ?? '', session.question)
 */
export function renderOutput(key: string, content: string, question: string): string {
  const id = `${key}\u0000${question}`
  const hit = cache.get(id)
  if (hit !== undefined) return hit
  // The chair and the members quote the question; it is shown as the user wrote it, not read as markdown (nor its
  // first 400 characters, which offline answers quote).
  const html = renderMarkdown(content, { verbatim: [question, question.slice(0, 400).trim()] })
  cache.set(id, html)
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!)
  return html
}
