/**
 * Reads Prometheus text exposition (format 0.0.4) the way a scraper would, so
 * tests assert on samples rather than on substrings.
 */

export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"'
/** `name{label="value",…} value` — the value a float, or NaN / ±Inf (Go's parser takes NaN in any case). */
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (-?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?Inf|(?:NaN|Nan|nan))$`)
const COMMENT_LINE = new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`)

/**
 * Parses every line; throws naming the first line that is neither a sample,
 * a HELP/TYPE comment nor blank.
 * @example
 * const samples = parsePrometheus(await res.text())
 */
export function parsePrometheus(text: string): PromSample[] {
  const samples: PromSample[] = []
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || COMMENT_LINE.test(line)) continue
    const match = SAMPLE_LINE.exec(line)
    if (!match) throw new Error(`line ${i + 1} is not Prometheus text: ${JSON.stringify(line)}`)
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))]),
    )
    const raw = match[3]!
    const value = /^nan$/i.test(raw) ? Number.NaN : raw.endsWith('Inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw)
    samples.push({ name: match[1]!, labels, value })
  }
  return samples
}

/** The value of the sample with exactly this name and exactly these labels, or undefined. */
export function sampleValue(text: string | PromSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const samples = typeof text === 'string' ? parsePrometheus(text) : text
  const wanted = Object.entries(labels)
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === wanted.length &&
      wanted.every(([key, value]) => sample.labels[key] === value),
  )?.value
}

/** The sum over every sample of `name` whose labels include `labels`. */
export function sampleSum(text: string | PromSample[], name: string, labels: Record<string, string> = {}): number {
  const samples = typeof text === 'string' ? parsePrometheus(text) : text
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0)
}
