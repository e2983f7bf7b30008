/**
 * A secret scan of the source tree: well-known credential shapes (private keys, cloud and
 * forge tokens, passwords inside connection URLs) and generic high-entropy values assigned
 * to secret-sounding names. Pure: the caller gives file names and texts. Findings a
 * reviewer judged harmless (a fixture key, a documented placeholder) go in an allow-list
 * with a reason; the scan never prints a secret in full.
 */

export interface Finding {
  file: string
  line: number
  rule: string
  /** The matched text with its middle masked, safe to print in CI logs. */
  masked: string
  /** The matched text itself, for allow-list matching only; never printed. */
  match: string
}

export interface SecretAllowEntry {
  /** A glob over the repository path (Bun.Glob syntax), e.g. `tests/fixtures/**`. */
  path: string
  /** A rule id, or `*` for any rule. */
  rule: string
  /** When given, the entry applies only to findings whose matched text contains this. */
  contains?: string
  reason: string
}

interface Rule {
  id: string
  pattern: RegExp
  /** Which capture group holds the secret part (0 = the whole match). */
  group?: number
  /** Further judgement on the captured secret (placeholders, entropy). */
  accept?: (secret: string) => boolean
}

/** Bits per character: random base64 is near 6, hex near 4, English text near 4, repeats near 0. */
export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>()
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1)
  let bits = 0
  for (const count of counts.values()) bits -= (count / text.length) * Math.log2(count / text.length)
  return bits
}

/** `${VAR}`, `<password>`, `changeme`, `xxxx…`, `***`: values that stand for a secret rather than being one. */
export function isPlaceholder(value: string): boolean {
  return (
    /\$\{[^}]*\}|\$[A-Z_]{3,}|<[^>]+>|\{\{[^}]*\}\}|%\([^)]*\)s/.test(value) ||
    /^(x+|\*+|\.+|-+|_+)$/i.test(value) ||
    /^(change[-_]?me|changeit|example|placeholder|dummy|secret|password|redacted|your[-_].*|replace[-_].*)$/i.test(value)
  )
}

/** A value that looks generated: long, high entropy, and mixing character classes. */
export function looksRandom(value: string): boolean {
  if (value.length < 20 || isPlaceholder(value)) return false
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length
  return classes >= 2 && /[0-9]/.test(value) && shannonEntropy(value) >= 4
}

const RULES: Rule[] = [
  { id: 'private-key', pattern: /-----BEGIN ((RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED) )?PRIVATE KEY( BLOCK)?-----/ },
  { id: 'aws-access-key-id', pattern: /\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  {
    id: 'aws-secret-access-key',
    pattern: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/i,
    group: 1,
    accept: (secret) => !isPlaceholder(secret) && shannonEntropy(secret) >= 4,
  },
  { id: 'github-token', pattern: /\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b/ },
  { id: 'gitlab-token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { id: 'slack-token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
  { id: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]{16,}/ },
  { id: 'openai-key', pattern: /\bsk-(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/ },
  { id: 'anthropic-key', pattern: /\bsk-ant-(api|admin)\d\d-[A-Za-z0-9_-]{80,}/ },
  { id: 'stripe-live-key', pattern: /\b[rs]k_live_[A-Za-z0-9]{20,}\b/ },
  { id: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { id: 'npm-token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  {
    id: 'password-in-url',
    pattern: /\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|https?|s3|ftp):\/\/[^\s:/@'"`]+:([^\s@/'"`]+)@/,
    group: 1,
    accept: (secret) => !isPlaceholder(secret),
  },
  {
    id: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}/,
  },
  {
    // NAME = "value" / NAME: 'value' / "name": "value", where NAME sounds like a secret.
    id: 'generic-secret-assignment',
    pattern:
      /(?:secret|token|passw(?:or)?d|passwd|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)\w*["']?\s*[:=]\s*["'`]([^"'`\s]{20,})["'`]/i,
    group: 1,
    accept: looksRandom,
  },
]

function mask(text: string): string {
  if (text.length <= 12) return `${text.slice(0, 2)}…`
  return `${text.slice(0, 6)}…${text.slice(-3)} (${text.length} chars)`
}

/**
 * The findings in one file's text, at most one per rule per line.
 * @example
 * scanText('src/config.ts', text) // → [{ file: 'src/config.ts', line: 12, rule: 'aws-access-key-id', … }]
 */
export function scanText(file: string, text: string): Finding[] {
  const findings: Finding[] = []
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.length > 5000) continue // minified or generated; nothing a person wrote
    for (const rule of RULES) {
      // A value a specific rule already named on this line is not reported twice.
      if (rule.id === 'generic-secret-assignment' && findings.some((f) => f.line === index + 1)) continue
      const global = new RegExp(rule.pattern.source, rule.pattern.flags.includes('g') ? rule.pattern.flags : `${rule.pattern.flags}g`)
      for (const hit of line.matchAll(global)) {
        const secret = hit[rule.group ?? 0] ?? hit[0]
        if (rule.accept && !rule.accept(secret)) continue
        findings.push({ file, line: index + 1, rule: rule.id, masked: mask(hit[0]), match: hit[0] })
        break
      }
    }
  }
  return findings
}

/** Checks the allow-list file's shape: path, rule and a reason a reviewer can check. */
export function parseSecretAllowList(text: string, source = 'allow-list'): SecretAllowEntry[] {
  const parsed = JSON.parse(text) as { allow?: unknown }
  if (!Array.isArray(parsed.allow)) throw new Error(`${source}: expected { "allow": [...] }`)
  return parsed.allow.map((entry, i) => {
    const e = entry as Partial<SecretAllowEntry>
    for (const field of ['path', 'rule', 'reason'] as const)
      if (typeof e[field] !== 'string' || !e[field]!.trim()) throw new Error(`${source}: entry #${i + 1} needs "${field}"`)
    if (e.rule !== '*' && !RULES.some((rule) => rule.id === e.rule)) throw new Error(`${source}: entry #${i + 1}: unknown rule "${e.rule}"`)
    if (e.reason!.trim().length < 15) throw new Error(`${source}: entry #${i + 1} (${e.path}) needs a reason a reviewer can check`)
    return e as SecretAllowEntry
  })
}

/** Splits findings into those an allow-list entry covers and those it does not. */
export function applyAllowList(findings: Finding[], allow: SecretAllowEntry[]): { open: Finding[]; allowed: Finding[]; unused: SecretAllowEntry[] } {
  const used = new Set<SecretAllowEntry>()
  const open: Finding[] = []
  const allowed: Finding[] = []
  for (const finding of findings) {
    const entry = allow.find(
      (e) =>
        (e.rule === '*' || e.rule === finding.rule) &&
        new Bun.Glob(e.path).match(finding.file) &&
        (e.contains === undefined || finding.match.includes(e.contains)),
    )
    if (entry) {
      used.add(entry)
      allowed.push(finding)
    } else open.push(finding)
  }
  return { open, allowed, unused: allow.filter((e) => !used.has(e)) }
}
