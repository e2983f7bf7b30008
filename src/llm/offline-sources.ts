/**
 * The offline provider's use of sources: when a prompt quotes sources
 * (`<untrusted_source label="[doc:1 p.3]" …>` blocks, src/council/sources.ts),
 * it cites them as a model told to cite would — for each source in the order
 * given (best match first), one sentence of the quoted text followed by its
 * label — so tests and demos show real citations that verify.
 */
const BLOCK = /<untrusted_source label="(\[(?:doc:\d{1,4} p\.\d{1,5}|web:\d{1,3})\])"[^>]*>\n([\s\S]*?)\n<\/untrusted_source nonce="[^"]*">/g

/** The first sentence of a source worth quoting: five words or more, at most ~240 characters. */
function sentenceOf(text: string): string | null {
  const sentences = text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((sentence) => sentence.trim().replace(/[.!?;:,]+$/, ''))
    .filter((sentence) => sentence.split(/\s+/).length >= 5)
  const first = sentences[0]
  if (!first) return null
  if (first.length <= 240) return first
  const cut = first.slice(0, 240)
  return cut.slice(0, Math.max(cut.lastIndexOf(' '), 120))
}

/**
 * Lines citing up to `max` sources of the prompt (one per document or web result), or [] when it quotes none.
 * @example
 * citeSources(prompt) // ['- Revenue grew 12% in the third quarter [doc:1 p.2].']
 */
export function citeSources(prompt: string, max = 3): string[] {
  const seen = new Set<string>()
  const lines: string[] = []
  for (const [, label, text] of prompt.matchAll(BLOCK)) {
    const source = label!.replace(/ p\.\d+\]$/, ']')
    if (seen.has(source) || lines.length >= max) continue
    const sentence = sentenceOf(text!)
    if (!sentence) continue
    seen.add(source)
    lines.push(`- ${sentence} ${label}.`)
  }
  return lines
}
