/**
 * SQLite tables of operations (status page, incidents, revoked sign-ins, usage
 * rollups), re-exported by ./sqlite.ts and twinned by ./pg-operations.ts; split
 * off so neither schema file grows past what a reader takes in at once.
 */
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { createdAt } from './sqlite-columns'

/**
 * The status page's probe samples: one row per component per probe
 * (src/modules/status). The id is `component@epoch-ms of the probe slot`, so two
 * instances probing the same slot write one row. Kept STATUS_SAMPLE_DAYS; the
 * 24-hour uptime reads them.
 */
export const statusSamples = sqliteTable(
  'status_samples',
  {
    id: text('id').primaryKey(),
    component: text('component').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    status: text('status').notNull(),
    latencyMs: integer('latency_ms').notNull(),
  },
  (t) => [index('status_samples_at_idx').on(t.at)],
)

/** Per component and UTC day (`YYYY-MM-DD`): samples, how many were up (ok or degraded), how many degraded. The 90-day bars read these. */
export const statusDays = sqliteTable(
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

/**
 * Incidents and maintenance windows admins post on the status page.
 * `components` is a comma-separated list of component names (text, not JSON:
 * JSON columns are searched for storage keys by the data walk). `status`
 * is the latest update's; `created_by` only says which admin posted it (kept
 * when that person is erased, as a pseudonym: src/modules/data/plan.ts).
 */
export const incidents = sqliteTable(
  'incidents',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    kind: text('kind').notNull(),
    impact: text('impact').notNull(),
    components: text('components').notNull(),
    status: text('status').notNull(),
    startsAt: integer('starts_at', { mode: 'timestamp_ms' }).notNull(),
    endsAt: integer('ends_at', { mode: 'timestamp_ms' }),
    resolvedAt: integer('resolved_at', { mode: 'timestamp_ms' }),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('incidents_starts_idx').on(t.startsAt)],
)

/** Each timestamped update of an incident or maintenance window, oldest first. */
export const incidentUpdates = sqliteTable(
  'incident_updates',
  {
    id: text('id').primaryKey(),
    incidentId: text('incident_id').notNull(),
    status: text('status').notNull(),
    message: text('message').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    createdBy: text('created_by'),
  },
  (t) => [index('incident_updates_incident_idx').on(t.incidentId, t.at)],
)

/**
 * Revoked sign-ins (issue 14, finding 6): every sign-in cookie of `subject`
 * issued at or before `revoked_at` is refused. Written on logout, on a change of
 * the person's role bindings and on erasure; `subject` is an HMAC of the email
 * under SESSION_SECRET (as in erased_identities), so the table names nobody.
 * One row per person, overwritten by each revocation.
 */
export const signInRevocations = sqliteTable('sign_in_revocations', {
  subject: text('subject').primaryKey(),
  revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }).notNull(),
})

/**
 * Usage rollups (issue 11): counters of LLM calls, jobs, requests and session
 * creations per UTC day (grain `day`, bucket `2026-12-02`) and per hour of the
 * current day (grain `hour`, bucket `2026-12-02T13`), one row per dimension
 * value: `dim` is total | model | stage | role | endpoint | error and `key` its
 * value. Maintained as events arrive (src/modules/usage/recorder.ts adds batched
 * deltas), so the dashboard never reads raw events. `h0`…`h23` count durations
 * in log-spaced buckets (h0 ≤ 1 ms, hN ≤ 2^N ms, h23 above 2^22 ms): rows merge
 * by adding them, and percentiles come from the sums (src/modules/usage/histogram.ts).
 * `id` is the row's key written out (grain|kind|dim|bucket|key), so an upsert needs no other unique index.
 */
export const usageRollups = sqliteTable(
  'usage_rollups',
  {
    id: text('id').primaryKey(),
    grain: text('grain').notNull(),
    bucket: text('bucket').notNull(),
    kind: text('kind').notNull(),
    dim: text('dim').notNull(),
    key: text('key').notNull(),
    count: integer('count').notNull(),
    errors: integer('errors').notNull(),
    clientErrors: integer('client_errors').notNull(),
    tokensIn: integer('tokens_in').notNull(),
    tokensOut: integer('tokens_out').notNull(),
    costMicroUsd: integer('cost_micro_usd').notNull(),
    durationMs: integer('duration_ms').notNull(),
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

/**
 * Who was active on a UTC day (any request, LLM call or job), with their tokens
 * and cost: daily and weekly active users are counts over these rows. One row
 * per user per day (`id` = user_id|day); `user_id` makes it the person's own
 * data, so erasure takes it (src/modules/data/plan.ts).
 */
export const usageUserDays = sqliteTable(
  'usage_user_days',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    events: integer('events').notNull(),
    tokens: integer('tokens').notNull(),
    costMicroUsd: integer('cost_micro_usd').notNull(),
  },
  (t) => [index('usage_user_days_day_idx').on(t.day, t.userId)],
)

/**
 * Each person's first and last UTC day of activity: "active since D" (weekly and
 * window active users, whose windows end today) is a count over at most one row
 * per person, whatever the number of days. Erasure takes the row (`user_id`).
 */
export const usageUsers = sqliteTable(
  'usage_users',
  {
    userId: text('user_id').primaryKey(),
    firstDay: text('first_day').notNull(),
    lastDay: text('last_day').notNull(),
  },
  (t) => [index('usage_users_last_day_idx').on(t.lastDay)],
)
