/** Column helpers shared by ./pg.ts and ./pg-operations.ts. */
import { timestamp } from 'drizzle-orm/pg-core'

export const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })
export const createdAt = () => time('created_at').notNull()
