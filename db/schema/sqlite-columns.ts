/** Column helpers shared by ./sqlite.ts and ./sqlite-operations.ts. */
import { integer } from 'drizzle-orm/sqlite-core'

export const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull()
