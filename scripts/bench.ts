/** `bun run bench <name>` runs tests/load/<name>.bench.ts (jobs, http, live). */
import { existsSync, readdirSync } from 'node:fs'

const name = process.argv[2]
const file = `tests/load/${name}.bench.ts`
if (!name || !existsSync(file)) {
  const available = readdirSync('tests/load').filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace('.bench.ts', ''))
  console.error(`usage: bun run bench <${available.join('|')}>`)
  process.exit(2)
}
const proc = Bun.spawn(['bun', 'run', file, ...process.argv.slice(3)], { stdout: 'inherit', stderr: 'inherit' })
process.exit(await proc.exited)
