/**
 * Words for retrieval and citation checks: lowercase, accents folded, English
 * stopwords dropped, and a light suffix-stripping stemmer ("revenues",
 * "revenue" → "revenu"; "growing", "grows" → "grow"). Deliberately simple and
 * deterministic: both sides of every comparison go through the same function,
 * so consistency matters more than linguistic accuracy.
 */

const STOPWORDS = new Set(
  `a about above after again against all am an and any are aren as at be because been before being below between both but by
  can cannot could couldn did didn do does doesn doing don down during each few for from further had hadn has hasn have haven
  having he her here hers herself him himself his how i if in into is isn it its itself just let me more most mustn my myself
  no nor not now of off on once only or other ought our ours ourselves out over own same shan she should shouldn so some such
  than that the their theirs them themselves then there these they this those through to too under until up upon very was wasn
  we were weren what when where which while who whom why will with won would wouldn you your yours yourself yourselves also
  may might must shall us per via etc ie eg much many`.split(/\s+/),
)

/** Drops a doubled final consonant left by -ing/-ed: "running" → "runn" → "run". */
const undouble = (word: string) => (/([bdfgklmnprt])\1$/.test(word) ? word.slice(0, -1) : word)

export function stem(word: string): string {
  let w = word
  if (w.length <= 3 || /^\d/.test(w)) return w
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`
  else if (w.endsWith('sses')) w = w.slice(0, -2)
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1)
  if (w.length > 5 && w.endsWith('ing')) w = undouble(w.slice(0, -3))
  else if (w.length > 4 && w.endsWith('ed')) w = undouble(w.slice(0, -2))
  if (w.length > 5 && w.endsWith('ly')) w = w.slice(0, -2)
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1)
  return w
}

/** Every content term of `text`, in order, repeats kept (BM25 counts them). */
export function terms(text: string): string[] {
  const out: string[] = []
  const folded = text.toLowerCase().normalize('NFKD').replace(/\p{M}+/gu, '')
  for (const match of folded.matchAll(/[\p{L}\p{N}]+/gu)) {
    const word = match[0]
    if (STOPWORDS.has(word)) continue
    if (word.length === 1 && !/\d/.test(word)) continue
    out.push(stem(word))
  }
  return out
}

/** The distinct content terms of `text`. */
export const termSet = (text: string): Set<string> => new Set(terms(text))
