/**
 * Parses a reviewer's ranking of anonymised responses. Reviewers are asked for
 * a "FINAL RANKING:" block of "1. Response X" lines; real models also answer
 * with bare numbered lists, "Response C > Response A", extra prose, missing or
 * repeated labels. The parser keeps the first mention of each valid label in
 * order and says how well it went: `parsed` (every label once), `partial`
 * (some labels missing), or `unparsed` (nothing usable) — never a silent drop.
 */
type ParseStatus = 'parsed' | 'partial' | 'unparsed'

export interface ParsedRanking {
  /** Labels in ranked order, best first, each at most once. */
  ranking: string[]
  status: ParseStatus
  /** What was odd about the text: duplicates, unknown labels, missing labels. */
  problems: string[]
}

const BLOCK_HEADER = /final\s+ranking\s*:?/i

const LIST_ITEM = /^\s*(?:\d+[.)]|[-*•])\s*\**\s*(?:Response\s+)?([A-Z])\b\**(?![a-z])/i
const RESPONSE = /\bResponse\s+([A-Z])\b/gi

/**
 * Labels in ranked order, line by line: a list item ("1. Response B (beats
 * Response C)") contributes only its first label, because the rest of the line
 * is commentary; any other line ("Response C > Response A") contributes every
 * "Response X" it names, in order.
 */
function mentions(text: string): string[] {
  const found: string[] = []
  for (const line of text.split('\n')) {
    const item = LIST_ITEM.exec(line)
    if (item) {
      found.push(item[1]!.toUpperCase())
      continue
    }
    for (const match of line.matchAll(RESPONSE)) found.push(match[1]!.toUpperCase())
  }
  return found
}

/** Without a FINAL RANKING header: the last "X > Y" chain if there is one, else the last numbered list. */
function fallbackRegion(text: string): string {
  const lines = text.split('\n')
  const chain = lines.findLast((line) => /\b[A-Z]\b\s*>\s*(?:Response\s+)?[A-Z]\b/.test(line))
  if (chain) return chain.replace(/\b(?<!Response\s)([A-Z])\b(?=\s*>|\s*$)|(?<=>\s*)([A-Z])\b/g, (m) => `Response ${m}`)
  const listStart = lines.findLastIndex((line) => /^\s*1[.)]\s/.test(line))
  if (listStart < 0) return text
  // The list runs from its "1." to the first line that is not a list item.
  const end = lines.findIndex((line, i) => i > listStart && !LIST_ITEM.test(line) && line.trim() !== '')
  return lines.slice(listStart, end < 0 ? undefined : end).join('\n')
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
    region = fallbackRegion(text)
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
