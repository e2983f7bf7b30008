/**
 * Parses a reviewer's ranking of anonymised responses. Reviewers are asked for
 * a "FINAL RANKING:" block of "1. Response X" lines; real models also answer
 * with bare numbered lists, "Response C > Response A", extra prose, missing or
 * repeated labels. The parser keeps the first mention of each valid label in
 * order and says how well it went: `parsed` (every label once), `partial`
 * (some labels missing), or `unparsed` (nothing usable) — never a silent drop.
 */
export type ParseStatus = 'parsed' | 'partial' | 'unparsed'

export interface ParsedRanking {
  /** Labels in ranked order, best first, each at most once. */
  ranking: string[]
  status: ParseStatus
  /** What was odd about the text: duplicates, unknown labels, missing labels. */
  problems: string[]
}

const BLOCK_HEADER = /final\s+ranking\s*:?/i

/** Labels mentioned in order, from "Response X", "response x", or list items like "1. X" / "2) X". */
function mentions(text: string): string[] {
  const found: string[] = []
  const pattern = /\bResponse\s+([A-Z])\b|^\s*(?:\d+[.)]|[-*•])\s*\**\s*([A-Z])\b\**(?![a-z])/gim
  for (const match of text.matchAll(pattern)) {
    const label = (match[1] ?? match[2])?.toUpperCase()
    if (label) found.push(label)
  }
  return found
}

/**
 * @example
 * parseRanking('…\nFINAL RANKING:\n1. Response B\n2. Response A', ['A', 'B'])
 * // → { ranking: ['B', 'A'], status: 'parsed', problems: [] }
 */
export function parseRanking(text: string, labels: readonly string[]): ParsedRanking {
  const valid = new Set(labels)
  const problems: string[] = []
  const header = BLOCK_HEADER.exec(text)
  // Prefer the block after the last "FINAL RANKING" header; fall back to the whole text's last list.
  let region = header ? text.slice(text.toLowerCase().lastIndexOf(header[0].toLowerCase()) + header[0].length) : text
  if (!header) {
    problems.push('no FINAL RANKING block')
    const lines = text.split('\n')
    const listStart = lines.findLastIndex((line) => /^\s*1[.)]\s/.test(line))
    if (listStart >= 0) region = lines.slice(listStart).join('\n')
  }
  const ranking: string[] = []
  for (const label of mentions(region)) {
    if (!valid.has(label)) {
      problems.push(`unknown label ${label}`)
      continue
    }
    if (ranking.includes(label)) {
      problems.push(`duplicate label ${label}`)
      continue
    }
    ranking.push(label)
  }
  const missing = labels.filter((label) => !ranking.includes(label))
  if (missing.length > 0 && ranking.length > 0) problems.push(`missing ${missing.join(', ')}`)
  const status: ParseStatus = ranking.length === 0 ? 'unparsed' : missing.length > 0 ? 'partial' : 'parsed'
  return { ranking, status, problems }
}
