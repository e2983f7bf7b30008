/**
 * Migration safety (scripts/lib/migration-safety.ts, run by `bun run db:check`): planted
 * migrations in the shapes drizzle-kit writes for each dialect, and the committed ones.
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkMigration, describeRefusal, findDestructiveStatements } from '../../scripts/lib/migration-safety'

const SQLITE_REBUILD = `PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE \`__new_sessions\` (
	\`id\` text PRIMARY KEY NOT NULL,
	\`title\` text NOT NULL
);
--> statement-breakpoint
INSERT INTO \`__new_sessions\`("id", "title") SELECT "id", "title" FROM \`sessions\`;--> statement-breakpoint
DROP TABLE \`sessions\`;--> statement-breakpoint
ALTER TABLE \`__new_sessions\` RENAME TO \`sessions\`;--> statement-breakpoint
PRAGMA foreign_keys=ON;`

const kinds = (sql: string) => findDestructiveStatements(sql).map((s) => s.kind)

describe('findDestructiveStatements', () => {
  test.each([
    ['DROP TABLE "users" CASCADE;', 'DROP TABLE'],
    ['DROP TABLE IF EXISTS `users`;', 'DROP TABLE'],
    ['ALTER TABLE "users" DROP COLUMN "email";', 'DROP COLUMN'],
    ['ALTER TABLE `users` DROP COLUMN `email`;', 'DROP COLUMN'],
    ['ALTER TABLE "jobs" ALTER COLUMN "cost" SET DATA TYPE bigint;', 'ALTER COLUMN … TYPE'],
    ['ALTER TABLE jobs ALTER COLUMN cost TYPE numeric USING cost::numeric;', 'ALTER COLUMN … TYPE'],
    ['ALTER TABLE "users" RENAME COLUMN "mail" TO "email";', 'RENAME COLUMN'],
    ['ALTER TABLE "users" RENAME TO "accounts";', 'RENAME TABLE'],
    ['DROP SCHEMA "old" CASCADE;', 'DROP SCHEMA'],
    ['TRUNCATE "audit_events";', 'TRUNCATE'],
    ['DELETE FROM "sessions" WHERE true;', 'DELETE FROM'],
  ])('%s is %s', (sql, kind) => {
    expect(kinds(sql)).toEqual([kind])
  })

  test("drizzle-kit's SQLite table rebuild is reported statement by statement", () => {
    const found = findDestructiveStatements(SQLITE_REBUILD)
    expect(found.map((s) => s.kind)).toEqual([
      'SQLite table rebuild (__new_)',
      'SQLite table rebuild (__new_)',
      'DROP TABLE',
      'SQLite table rebuild (__new_)',
    ])
    expect(found.map((s) => s.line)).toEqual([2, 7, 8, 9])
    expect(found[2]!.statement).toBe('DROP TABLE `sessions`')
  })

  test('additive statements, comments and string literals are not destructive', () => {
    const sql = `-- an old note: we DROP TABLE nothing here
/* ALTER TABLE x DROP COLUMN y */
CREATE TABLE "notes" ("id" text PRIMARY KEY NOT NULL, "kind" text DEFAULT 'drop table' NOT NULL);
--> statement-breakpoint
ALTER TABLE "notes" ADD COLUMN "body" text;--> statement-breakpoint
CREATE INDEX "notes_kind" ON "notes" USING btree ("kind");--> statement-breakpoint
DROP INDEX "old_index";--> statement-breakpoint
ALTER TABLE "notes" ALTER COLUMN "body" SET NOT NULL;`
    expect(findDestructiveStatements(sql)).toEqual([])
  })

  test('long statements are cut for the report', () => {
    const [found] = findDestructiveStatements(`DROP TABLE "${'x'.repeat(300)}";`)
    expect(found!.statement.length).toBe(160)
    expect(found!.statement.endsWith('...')).toBe(true)
  })
})

describe('checkMigration', () => {
  test('a destructive migration without the acknowledgement is refused, naming file and statement', () => {
    const verdict = checkMigration('db/migrations/pg/0009_drop.sql', 'ALTER TABLE "users" ADD COLUMN "x" text;\nALTER TABLE "users" DROP COLUMN "email";')
    expect(verdict.ok).toBe(false)
    expect(verdict.acknowledged).toBeNull()
    const message = describeRefusal(verdict)
    expect(message).toContain('db/migrations/pg/0009_drop.sql')
    expect(message).toContain('db/migrations/pg/0009_drop.sql:2: DROP COLUMN: ALTER TABLE "users" DROP COLUMN "email"')
    expect(message).toContain('-- destructive: acknowledged')
  })

  test('the acknowledgement line with a reason lets it pass', () => {
    const sql = `-- destructive: acknowledged email moved to identities in 0008; column unread since v0.4\n${SQLITE_REBUILD}`
    const verdict = checkMigration('db/migrations/sqlite/0009_rebuild.sql', sql)
    expect(verdict.ok).toBe(true)
    expect(verdict.acknowledged).toBe('email moved to identities in 0008; column unread since v0.4')
    expect(verdict.destructive.length).toBe(4)
  })

  test.each([
    ['no reason', '-- destructive: acknowledged\nDROP TABLE "x";'],
    ['a token reason', '-- destructive: acknowledged ok\nDROP TABLE "x";'],
    ['inside a statement line, not a line of its own', 'DROP TABLE "x"; -- destructive: acknowledged because we said so'],
    ['a different wording', '-- destructive: approved because we said so\nDROP TABLE "x";'],
  ])('an acknowledgement with %s does not count', (_, sql) => {
    expect(checkMigration('m.sql', sql).ok).toBe(false)
  })

  test('a file with nothing destructive needs no acknowledgement', () => {
    expect(checkMigration('m.sql', 'CREATE TABLE "x" ("id" text);').ok).toBe(true)
  })

  test('every committed migration passes', () => {
    const root = join(import.meta.dir, '../../db/migrations')
    const files = ['sqlite', 'pg'].flatMap((dialect) =>
      readdirSync(join(root, dialect))
        .filter((name) => name.endsWith('.sql'))
        .map((name) => join(root, dialect, name)),
    )
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) expect({ file, ok: checkMigration(file, readFileSync(file, 'utf8')).ok }).toEqual({ file, ok: true })
  })
})
