/**
 * SQLite (libsql) schema. Its twin is ./pg.ts; tests/unit/schema-parity.test.ts
 * proves both declare the same tables, columns, nullability, keys and indexes.
 * Times are Date in both dialects; ids are UUIDv7 text, so they sort by creation.
 */
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

const createdAt = () => integer('created_at', { mode: 'timestamp_ms' }).notNull()

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    externalId: text('external_id').notNull(),
    email: text('email').notNull(),
    displayName: text('display_name'),
    createdAt: createdAt(),
    lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }),
    deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('users_external_id_uq').on(t.externalId)],
)

export const roleBindings = sqliteTable(
  'role_bindings',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    role: text('role').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('role_bindings_user_role_uq').on(t.userId, t.role), index('role_bindings_role_idx').on(t.role)],
)

export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    question: text('question').notNull(),
    paletteId: text('palette_id').notNull(),
    status: text('status').notNull(),
    stage: text('stage'),
    partial: integer('partial', { mode: 'boolean' }).notNull(),
    tokensIn: integer('tokens_in').notNull(),
    tokensOut: integer('tokens_out').notNull(),
    costMicroUsd: integer('cost_micro_usd').notNull(),
    error: text('error'),
    /** The council searches the web once before drafting (SPEC §5 "Web search"). */
    webSearch: integer('web_search', { mode: 'boolean' }).notNull().default(false),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId, t.id), index('sessions_created_at_idx').on(t.createdAt)],
)

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    userId: text('user_id').notNull(),
    sessionId: text('session_id'),
    status: text('status').notNull(),
    stage: text('stage'),
    progress: integer('progress').notNull(),
    requestId: text('request_id'),
    role: text('role'),
    idempotencyKey: text('idempotency_key'),
    input: text('input', { mode: 'json' }).$type<Record<string, unknown>>(),
    output: text('output', { mode: 'json' }).$type<Record<string, unknown>>(),
    error: text('error'),
    attempts: integer('attempts').notNull(),
    cancelRequested: integer('cancel_requested', { mode: 'boolean' }).notNull(),
    createdAt: createdAt(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    heartbeatAt: integer('heartbeat_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('jobs_idempotency_uq').on(t.userId, t.idempotencyKey),
    index('jobs_session_id_idx').on(t.sessionId),
    index('jobs_status_idx').on(t.status),
  ],
)

export const jobLogs = sqliteTable(
  'job_logs',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id').notNull(),
    ts: integer('ts', { mode: 'timestamp_ms' }).notNull(),
    level: text('level').notNull(),
    msg: text('msg').notNull(),
    requestId: text('request_id'),
    stage: text('stage'),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('job_logs_job_id_idx').on(t.jobId, t.id), index('job_logs_ts_idx').on(t.ts)],
)

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    actorId: text('actor_id'),
    actor: text('actor'),
    role: text('role'),
    action: text('action').notNull(),
    target: text('target'),
    sessionId: text('session_id'),
    jobId: text('job_id'),
    requestId: text('request_id'),
    ip: text('ip'),
    metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at),
    index('audit_events_actor_idx').on(t.actor),
    index('audit_events_action_idx').on(t.action),
  ],
)

/**
 * Audit events waiting for the SIEM (AUDIT_STREAM_URL): written in the same
 * transaction as the event, deleted once the SIEM answered 2xx. `seq` gives the
 * delivery order; `payload` is the JSON line exactly as it will be sent.
 */
export const auditOutbox = sqliteTable('audit_outbox', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  eventId: text('event_id').notNull(),
  payload: text('payload').notNull(),
  createdAt: createdAt(),
})

/** Who drains the outbox: one row per stream, held by one process until `expires_at`. */
export const auditOutboxLease = sqliteTable('audit_outbox_lease', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
})


export const agents = sqliteTable('agents', {
  name: text('name').primaryKey(),
  description: text('description').notNull(),
  persona: text('persona').notNull(),
  model: text('model').notNull(),
  temperature: real('temperature').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
})

export const palettes = sqliteTable('palettes', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  agentNames: text('agent_names', { mode: 'json' }).$type<string[]>().notNull(),
  chair: text('chair').notNull(),
  priceCents: integer('price_cents').notNull(),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
})

/**
 * One row per LLM call of a run, and the durable record of each stage's output:
 * drafts, reviews, the aggregate leaderboard and the synthesis. `run_id` is the
 * session id for councils and the job id for single-agent runs; the unique key
 * (run_id, stage, agent) is what makes a resumed job never duplicate a draft.
 */
export const stageOutputs = sqliteTable(
  'stage_outputs',
  {
    id: text('id').primaryKey(),
    runId: text('run_id').notNull(),
    sessionId: text('session_id'),
    jobId: text('job_id').notNull(),
    stage: text('stage').notNull(),
    agent: text('agent').notNull(),
    status: text('status').notNull(),
    content: text('content'),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
    error: text('error'),
    model: text('model'),
    tokensIn: integer('tokens_in').notNull(),
    tokensOut: integer('tokens_out').notNull(),
    costMicroUsd: integer('cost_micro_usd').notNull(),
    durationMs: integer('duration_ms').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('stage_outputs_run_stage_agent_uq').on(t.runId, t.stage, t.agent),
    index('stage_outputs_session_idx').on(t.sessionId),
    index('stage_outputs_created_at_idx').on(t.createdAt),
  ],
)

/**
 * Budget overrides set by admins: `scope` 'user' (subject = user id) or 'role'
 * (subject = role name). A null budget inherits: user override, then the most
 * generous of the user's roles, then the configured default.
 */
export const limits = sqliteTable(
  'limits',
  {
    id: text('id').primaryKey(),
    scope: text('scope').notNull(),
    subject: text('subject').notNull(),
    dailyTokens: integer('daily_tokens'),
    dailyCostMicroUsd: integer('daily_cost_micro_usd'),
    updatedBy: text('updated_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('limits_scope_subject_uq').on(t.scope, t.subject)],
)

/**
 * One row per user per UTC day: settled usage, and the worst cases held by
 * runs not yet settled. Reservations are one conditional UPDATE of this row,
 * so two runs racing for the last of a budget cannot both get it.
 */
export const budgetUsage = sqliteTable(
  'budget_usage',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    tokensUsed: integer('tokens_used').notNull(),
    tokensHeld: integer('tokens_held').notNull(),
    costUsedMicroUsd: integer('cost_used_micro_usd').notNull(),
    costHeldMicroUsd: integer('cost_held_micro_usd').notNull(),
    /** Bit set of the 80 %/95 % alerts already sent today (see budgets/store.ts). */
    alertsSent: integer('alerts_sent').notNull(),
    /** The roles the user had at their last reservation (role overrides apply by them). */
    roles: text('roles', { mode: 'json' }).$type<string[]>(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('budget_usage_user_day_uq').on(t.userId, t.day), index('budget_usage_day_idx').on(t.day, t.id)],
)

/** The reservation of one job (a council run or an agent call) and what it has used so far; settled when the job ends. */
export const budgetReservations = sqliteTable(
  'budget_reservations',
  {
    jobId: text('job_id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    kind: text('kind').notNull(),
    roles: text('roles', { mode: 'json' }).$type<string[]>(),
    tokensReserved: integer('tokens_reserved').notNull(),
    costReservedMicroUsd: integer('cost_reserved_micro_usd').notNull(),
    tokensUsed: integer('tokens_used').notNull(),
    costUsedMicroUsd: integer('cost_used_micro_usd').notNull(),
    calls: integer('calls').notNull(),
    createdAt: createdAt(),
    settledAt: integer('settled_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('budget_reservations_user_idx').on(t.userId, t.day)],
)

/**
 * The public roadmap: curated by admins, shown as Now / Next / Later columns.
 * `position` orders items within a phase; moves renumber the phase under one
 * lock (src/modules/roadmap/service.ts), so ties only happen between rows
 * written before a renumber and are broken by id.
 */
export const roadmapItems = sqliteTable(
  'roadmap_items',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    phase: text('phase').notNull(),
    status: text('status').notNull(),
    position: integer('position').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedBy: text('updated_by'),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('roadmap_items_phase_position_idx').on(t.phase, t.position, t.id), index('roadmap_items_status_idx').on(t.status)],
)

/** Work items filed by members; private to their author (and admins) until an admin makes them public. */
export const tickets = sqliteTable(
  'tickets',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    priority: text('priority').notNull(),
    public: integer('public', { mode: 'boolean' }).notNull(),
    roadmapItemId: text('roadmap_item_id'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedBy: text('updated_by'),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [
    index('tickets_created_by_idx').on(t.createdBy, t.id),
    index('tickets_public_idx').on(t.public, t.id),
    index('tickets_roadmap_item_idx').on(t.roadmapItemId),
  ],
)

export const ticketComments = sqliteTable(
  'ticket_comments',
  {
    id: text('id').primaryKey(),
    ticketId: text('ticket_id').notNull(),
    authorId: text('author_id').notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('ticket_comments_ticket_idx').on(t.ticketId, t.id)],
)

/**
 * One checkout of a priced palette: `pending` until the provider's webhook (or,
 * outside production, the dev proof) settles it. `succeeded` is final: a late
 * `payment.failed` never moves it back (see modules/payments/service.ts).
 */
export const payments = sqliteTable(
  'payments',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    paletteId: text('palette_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    status: text('status').notNull(),
    providerRef: text('provider_ref'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('payments_user_idx').on(t.userId, t.id)],
)

/** Provider events already processed, by the provider's event id: a replayed or duplicated event finds its row and changes nothing. */
export const paymentEvents = sqliteTable(
  'payment_events',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id').notNull(),
    type: text('type').notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('payment_events_payment_idx').on(t.paymentId)],
)

/** A palette unlocked for a user (one row per user and palette, whatever paid for it). */
export const entitlements = sqliteTable(
  'entitlements',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    paletteId: text('palette_id').notNull(),
    paymentId: text('payment_id'),
    grantedAt: integer('granted_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('entitlements_user_palette_uq').on(t.userId, t.paletteId)],
)

/**
 * Personal access tokens. Only the SHA-256 of the token is kept (`token_hash`);
 * `prefix` is its first characters, so a person can tell their tokens apart.
 * Revoked tokens keep their row (the audit trail names them) and never match.
 */
export const accessTokens = sqliteTable(
  'access_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('access_tokens_hash_uq').on(t.tokenHash), index('access_tokens_user_idx').on(t.userId, t.id)],
)

/**
 * Documents uploaded to a session. The bytes live in object storage under
 * `storage_key` (opaque), the extracted text beside them one object per page
 * (`<storage_key>/page-0001`); this row holds metadata only. `filename` is for
 * display, never a path. `job_id` is the extraction job.
 */
export const documents = sqliteTable(
  'documents',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id').notNull(),
    storageKey: text('storage_key').notNull(),
    filename: text('filename').notNull(),
    mime: text('mime').notNull(),
    kind: text('kind').notNull(),
    bytes: integer('bytes').notNull(),
    sha256: text('sha256').notNull(),
    /** pending | extracting | extracted | failed */
    status: text('status').notNull(),
    pages: integer('pages'),
    pagesDone: integer('pages_done').notNull(),
    chars: integer('chars'),
    error: text('error'),
    jobId: text('job_id'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    index('documents_session_idx').on(t.sessionId, t.id),
    index('documents_user_idx').on(t.userId),
    uniqueIndex('documents_storage_key_uq').on(t.storageKey),
  ],
)

/**
 * Erased people, for the length of a sign-in cookie's life: `subject` is an
 * HMAC of the erased person's email under SESSION_SECRET (not reversible
 * without it), so a dev-login cookie issued before the erasure is refused
 * rather than signing them back into a fresh account. No other column: the
 * erasure's receipt lives in the audit trail (`user.erase`). The retention job
 * removes rows once every such cookie has expired.
 */
export const erasedIdentities = sqliteTable('erased_identities', {
  subject: text('subject').primaryKey(),
  erasedAt: integer('erased_at', { mode: 'timestamp_ms' }).notNull(),
})

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
