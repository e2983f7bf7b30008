/**
 * Migration safety: a migration that drops or rewrites a table or column loses data the
 * moment it runs, and a rollback of the code cannot bring it back. `bun run db:check`
 * therefore refuses such a migration unless its file says, in a line of its own, that a
 * person looked at it and why it is safe:
 *
 *   -- destructive: acknowledged <reason, at least a few words>
 *
 * The line is the one edit a generated migration may receive by hand (it is a comment, so
 * it changes nothing the migrator runs). One acknowledgement covers the whole file.
 */

export interface DestructiveStatement {
  /** What the statement does, e.g. `DROP TABLE`, `SQLite table rebuild (__new_)`. */
  kind: string
  /** 1-based line where the statement starts. */
  line: number
  /** The statement, whitespace collapsed, cut to 160 characters. */
  statement: string
}

export interface MigrationVerdict {
  file: string
  destructive: DestructiveStatement[]
  /** The reason given in the acknowledgement line, or null when the file has none. */
  acknowledged: string | null
  ok: boolean
}

/** The acknowledgement line; the reason must say something (8+ characters). */
const ACKNOWLEDGEMENT = /^[ \t]*--[ \t]*destructive:[ \t]*acknowledged[ \t]+(\S.{7,})$/im

/**
 * Each pattern runs on a statement whose comments and string literals are blanked, so
 * `-- we used to DROP TABLE here` or `DEFAULT 'drop table'` cannot trip it. Order matters
 * only for the reported kind (the first match names it).
 */
const PATTERNS: ReadonlyArray<[kind: string, pattern: RegExp]> = [
  // drizzle-kit's SQLite rebuild: CREATE TABLE `__new_x`, copy, DROP x, RENAME __new_x TO x.
  ['SQLite table rebuild (__new_)', /\b__new_\w+/i],
  ['DROP TABLE', /\bdrop\s+table\b/i],
  ['DROP COLUMN', /\bdrop\s+column\b/i],
  ['DROP SCHEMA', /\bdrop\s+schema\b/i],
  ['ALTER COLUMN … TYPE', /\balter\s+column\s+\S+\s+(set\s+data\s+)?type\b/i],
  ['RENAME COLUMN', /\brename\s+column\b/i],
  ['RENAME TABLE', /\brename\s+to\b/i],
  ['TRUNCATE', /\btruncate\b/i],
  ['DELETE FROM', /\bdelete\s+from\b/i],
]

/** Blanks comments and string literals (keeping line breaks, so line numbers stay true). */
function blankCommentsAndStrings(sql: string): string {
  const keepNewlines = (text: string) => text.replace(/[^\n]/g, ' ')
  return sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, keepNewlines)
}

/**
 * The statements of one migration file that drop or rewrite data.
 * @example
 * findDestructiveStatements('ALTER TABLE "users" DROP COLUMN "email";')
 * // → [{ kind: 'DROP COLUMN', line: 1, statement: 'ALTER TABLE "users" DROP COLUMN "email"' }]
 */
export function findDestructiveStatements(sql: string): DestructiveStatement[] {
  const blanked = blankCommentsAndStrings(sql)
  const found: DestructiveStatement[] = []
  let offset = 0
  // Statements end at `;` (drizzle also writes `--> statement-breakpoint`, a comment, already blanked).
  for (const piece of blanked.split(';')) {
    const start = offset + (piece.length - piece.trimStart().length)
    offset += piece.length + 1
    const text = piece.trim()
    if (!text) continue
    const hit = PATTERNS.find(([, pattern]) => pattern.test(text))
    if (!hit) continue
    const original = sql.slice(start, start + text.length).replace(/\s+/g, ' ')
    found.push({
      kind: hit[0],
      line: sql.slice(0, start).split('\n').length,
      statement: original.length > 160 ? `${original.slice(0, 157)}...` : original,
    })
  }
  return found
}

/**
 * Judges one migration file: fine when nothing in it is destructive or it carries the
 * acknowledgement line.
 * @example
 * checkMigration('db/migrations/pg/0003_x.sql', sqlText).ok
 */
export function checkMigration(file: string, sql: string): MigrationVerdict {
  const destructive = findDestructiveStatements(sql)
  const acknowledged = ACKNOWLEDGEMENT.exec(sql)?.[1]?.trim() ?? null
  return { file, destructive, acknowledged, ok: destructive.length === 0 || acknowledged !== null }
}

/** The lines db:check prints for a refused file: the file, each statement, and how to proceed. */
export function describeRefusal(verdict: MigrationVerdict): string {
  const lines = verdict.destructive.map((s) => `  ${verdict.file}:${s.line}: ${s.kind}: ${s.statement}`)
  return [
    `db:check: ${verdict.file} drops or rewrites data and carries no acknowledgement:`,
    ...lines,
    '  If this is intended (data copied first, or the column is unused), add a line to the file:',
    '  -- destructive: acknowledged <why this is safe>',
  ].join('\n')
}
