/** Generates drizzle migrations for both dialects from db/schema/. Usage: bun run db:generate [name] */
const migrationName = process.argv[2]

for (const dialect of ['sqlite', 'pg'] as const) {
  const args = ['bunx', 'drizzle-kit', 'generate', ...(migrationName ? ['--name', migrationName] : [])]
  const proc = Bun.spawnSync(args, { env: { ...process.env, DRIZZLE_DIALECT: dialect }, stdout: 'inherit', stderr: 'inherit' })
  if (proc.exitCode !== 0) {
    console.error(`drizzle-kit generate failed for ${dialect}`)
    process.exit(1)
  }
}
