/**
 * drizzle-kit configuration for one dialect at a time: DRIZZLE_DIALECT=sqlite|pg
 * (default sqlite). `bun run db:generate` runs it for both; `bun run db:check`
 * regenerates into a scratch copy and fails if anything new appears.
 */
import { defineConfig } from 'drizzle-kit'

const dialect = process.env.DRIZZLE_DIALECT === 'pg' ? 'pg' : 'sqlite'
const out = process.env.DRIZZLE_OUT ?? `./db/migrations/${dialect}`

export default dialect === 'pg'
  ? defineConfig({
      dialect: 'postgresql',
      schema: './db/schema/pg.ts',
      out,
      dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    })
  : defineConfig({
      dialect: 'sqlite',
      schema: './db/schema/sqlite.ts',
      out,
      dbCredentials: { url: 'file:./data/council.db' },
    })
