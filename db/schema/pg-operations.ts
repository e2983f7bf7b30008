/**
 * PostgreSQL tables of operations (status page, incidents, revoked sign-ins,
 * usage rollups): the twin of ./sqlite-operations.ts, re-exported by ./pg.ts,
 * split off so neither schema file grows past what a reader takes in at once.
 */
import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core'
import { createdAt, time } from './pg-columns'

/** See ./sqlite-operations.ts statusSamples. */
export const statusSamples = pgTable(
  'status_samples',
  {
    id: text('id').primaryKey(),
    component: text('component').notNull(),
    at: time('at').notNull(),
    status: text('status').notNull(),
    latencyMs: integer('latency_ms').notNull(),
  },
  (t) => [index('status_samples_at_idx').on(t.at)],
)

/** See ./sqlite-operations.ts statusDays. */
export const statusDays = pgTable(
  'status_days',
  {
    id: text('id').primaryKey(),
    component: text('component').notNull(),
    day: text('day').notNull(),
    samples: integer('samples').notNull(),
    up: integer('up').notNull(),
    degraded: integer('degraded').notNull(),
  },
  (t) => [index('status_days_day_idx').on(t.day)],
)

/** See ./sqlite-operations.ts incidents. */
export const incidents = pgTable(
  'incidents',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    kind: text('kind').notNull(),
    impact: text('impact').notNull(),
    components: text('components').notNull(),
    status: text('status').notNull(),
    startsAt: time('starts_at').notNull(),
    endsAt: time('ends_at'),
    resolvedAt: time('resolved_at'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [index('incidents_starts_idx').on(t.startsAt)],
)

/** See ./sqlite-operations.ts incidentUpdates. */
export const incidentUpdates = pgTable(
  'incident_updates',
  {
    id: text('id').primaryKey(),
    incidentId: text('incident_id').notNull(),
    status: text('status').notNull(),
    message: text('message').notNull(),
    at: time('at').notNull(),
    createdBy: text('created_by'),
  },
  (t) => [index('incident_updates_incident_idx').on(t.incidentId, t.at)],
)

/** See ./sqlite-operations.ts signInRevocations. */
export const signInRevocations = pgTable('sign_in_revocations', {
  subject: text('subject').primaryKey(),
  revokedAt: time('revoked_at').notNull(),
})

/** See ./sqlite-operations.ts usageRollups. */
export const usageRollups = pgTable(
  'usage_rollups',
  {
    id: text('id').primaryKey(),
    grain: text('grain').notNull(),
    bucket: text('bucket').notNull(),
    kind: text('kind').notNull(),
    dim: text('dim').notNull(),
    key: text('key').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    errors: bigint('errors', { mode: 'number' }).notNull(),
    clientErrors: bigint('client_errors', { mode: 'number' }).notNull(),
    tokensIn: bigint('tokens_in', { mode: 'number' }).notNull(),
    tokensOut: bigint('tokens_out', { mode: 'number' }).notNull(),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull(),
    durationMs: bigint('duration_ms', { mode: 'number' }).notNull(),
    h0: integer('h0').notNull().default(0),
    h1: integer('h1').notNull().default(0),
    h2: integer('h2').notNull().default(0),
    h3: integer('h3').notNull().default(0),
    h4: integer('h4').notNull().default(0),
    h5: integer('h5').notNull().default(0),
    h6: integer('h6').notNull().default(0),
    h7: integer('h7').notNull().default(0),
    h8: integer('h8').notNull().default(0),
    h9: integer('h9').notNull().default(0),
    h10: integer('h10').notNull().default(0),
    h11: integer('h11').notNull().default(0),
    h12: integer('h12').notNull().default(0),
    h13: integer('h13').notNull().default(0),
    h14: integer('h14').notNull().default(0),
    h15: integer('h15').notNull().default(0),
    h16: integer('h16').notNull().default(0),
    h17: integer('h17').notNull().default(0),
    h18: integer('h18').notNull().default(0),
    h19: integer('h19').notNull().default(0),
    h20: integer('h20').notNull().default(0),
    h21: integer('h21').notNull().default(0),
    h22: integer('h22').notNull().default(0),
    h23: integer('h23').notNull().default(0),
  },
  (t) => [index('usage_rollups_scan_idx').on(t.grain, t.bucket, t.kind, t.dim)],
)

/** See ./sqlite-operations.ts usageUserDays. */
export const usageUserDays = pgTable(
  'usage_user_days',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    events: bigint('events', { mode: 'number' }).notNull(),
    tokens: bigint('tokens', { mode: 'number' }).notNull(),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull(),
  },
  (t) => [index('usage_user_days_day_idx').on(t.day, t.userId)],
)

/** See ./sqlite-operations.ts usageUsers. */
export const usageUsers = pgTable(
  'usage_users',
  {
    userId: text('user_id').primaryKey(),
    firstDay: text('first_day').notNull(),
    lastDay: text('last_day').notNull(),
  },
  (t) => [index('usage_users_last_day_idx').on(t.lastDay)],
)
