/**
 * PostgreSQL schema, the twin of ./sqlite.ts (see that file's note). Column
 * TypeScript types match the SQLite ones, so one query layer serves both.
 */
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })
const createdAt = () => time('created_at').notNull()

export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    externalId: text('external_id').notNull(),
    email: text('email').notNull(),
    displayName: text('display_name'),
    createdAt: createdAt(),
    lastSeenAt: time('last_seen_at'),
    deletedAt: time('deleted_at'),
  },
  (t) => [uniqueIndex('users_external_id_uq').on(t.externalId)],
)

export const roleBindings = pgTable(
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

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    question: text('question').notNull(),
    paletteId: text('palette_id').notNull(),
    status: text('status').notNull(),
    stage: text('stage'),
    partial: boolean('partial').notNull(),
    tokensIn: integer('tokens_in').notNull(),
    tokensOut: integer('tokens_out').notNull(),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull(),
    error: text('error'),
    webSearch: boolean('web_search').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId, t.id), index('sessions_created_at_idx').on(t.createdAt)],
)

export const jobs = pgTable(
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
    input: jsonb('input').$type<Record<string, unknown>>(),
    output: jsonb('output').$type<Record<string, unknown>>(),
    error: text('error'),
    attempts: integer('attempts').notNull(),
    cancelRequested: boolean('cancel_requested').notNull(),
    createdAt: createdAt(),
    startedAt: time('started_at'),
    finishedAt: time('finished_at'),
    heartbeatAt: time('heartbeat_at'),
  },
  (t) => [
    uniqueIndex('jobs_idempotency_uq').on(t.userId, t.idempotencyKey),
    index('jobs_session_id_idx').on(t.sessionId),
    index('jobs_status_idx').on(t.status),
  ],
)

export const jobLogs = pgTable(
  'job_logs',
  {
    id: text('id').primaryKey(),
    jobId: text('job_id').notNull(),
    ts: time('ts').notNull(),
    level: text('level').notNull(),
    msg: text('msg').notNull(),
    requestId: text('request_id'),
    stage: text('stage'),
    data: jsonb('data').$type<Record<string, unknown>>(),
  },
  (t) => [index('job_logs_job_id_idx').on(t.jobId, t.id), index('job_logs_ts_idx').on(t.ts)],
)

export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: time('at').notNull(),
    actorId: text('actor_id'),
    actor: text('actor'),
    role: text('role'),
    action: text('action').notNull(),
    target: text('target'),
    sessionId: text('session_id'),
    jobId: text('job_id'),
    requestId: text('request_id'),
    ip: text('ip'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_at_idx').on(t.at),
    index('audit_events_actor_idx').on(t.actor),
    index('audit_events_action_idx').on(t.action),
  ],
)

/** See ./sqlite.ts. */
export const auditOutbox = pgTable('audit_outbox', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  eventId: text('event_id').notNull(),
  payload: text('payload').notNull(),
  createdAt: createdAt(),
})

export const auditOutboxLease = pgTable('audit_outbox_lease', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: time('expires_at').notNull(),
})

export const agents = pgTable('agents', {
  name: text('name').primaryKey(),
  description: text('description').notNull(),
  persona: text('persona').notNull(),
  model: text('model').notNull(),
  temperature: doublePrecision('temperature').notNull(),
  createdAt: createdAt(),
  updatedAt: time('updated_at').notNull(),
})

export const palettes = pgTable('palettes', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  description: text('description').notNull(),
  agentNames: jsonb('agent_names').$type<string[]>().notNull(),
  chair: text('chair').notNull(),
  priceCents: integer('price_cents').notNull(),
  createdAt: createdAt(),
  updatedAt: time('updated_at').notNull(),
})

/** See the note on stage_outputs in ./sqlite.ts. */
export const stageOutputs = pgTable(
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
    data: jsonb('data').$type<Record<string, unknown>>(),
    error: text('error'),
    model: text('model'),
    tokensIn: integer('tokens_in').notNull(),
    tokensOut: integer('tokens_out').notNull(),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('stage_outputs_run_stage_agent_uq').on(t.runId, t.stage, t.agent),
    index('stage_outputs_session_idx').on(t.sessionId),
    index('stage_outputs_created_at_idx').on(t.createdAt),
  ],
)

/** See ./sqlite.ts for the meaning of the budget tables. */
export const limits = pgTable(
  'limits',
  {
    id: text('id').primaryKey(),
    scope: text('scope').notNull(),
    subject: text('subject').notNull(),
    dailyTokens: bigint('daily_tokens', { mode: 'number' }),
    dailyCostMicroUsd: bigint('daily_cost_micro_usd', { mode: 'number' }),
    updatedBy: text('updated_by'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('limits_scope_subject_uq').on(t.scope, t.subject)],
)

export const budgetUsage = pgTable(
  'budget_usage',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    tokensUsed: bigint('tokens_used', { mode: 'number' }).notNull(),
    tokensHeld: bigint('tokens_held', { mode: 'number' }).notNull(),
    costUsedMicroUsd: bigint('cost_used_micro_usd', { mode: 'number' }).notNull(),
    costHeldMicroUsd: bigint('cost_held_micro_usd', { mode: 'number' }).notNull(),
    alertsSent: integer('alerts_sent').notNull(),
    roles: jsonb('roles').$type<string[]>(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [uniqueIndex('budget_usage_user_day_uq').on(t.userId, t.day), index('budget_usage_day_idx').on(t.day, t.id)],
)

export const budgetReservations = pgTable(
  'budget_reservations',
  {
    jobId: text('job_id').primaryKey(),
    userId: text('user_id').notNull(),
    day: text('day').notNull(),
    kind: text('kind').notNull(),
    roles: jsonb('roles').$type<string[]>(),
    tokensReserved: bigint('tokens_reserved', { mode: 'number' }).notNull(),
    costReservedMicroUsd: bigint('cost_reserved_micro_usd', { mode: 'number' }).notNull(),
    tokensUsed: bigint('tokens_used', { mode: 'number' }).notNull(),
    costUsedMicroUsd: bigint('cost_used_micro_usd', { mode: 'number' }).notNull(),
    calls: integer('calls').notNull(),
    createdAt: createdAt(),
    settledAt: time('settled_at'),
  },
  (t) => [index('budget_reservations_user_idx').on(t.userId, t.day)],
)

/** See ./sqlite.ts roadmapItems. */
export const roadmapItems = pgTable(
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
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [index('roadmap_items_phase_position_idx').on(t.phase, t.position, t.id), index('roadmap_items_status_idx').on(t.status)],
)

/** See ./sqlite.ts tickets. */
export const tickets = pgTable(
  'tickets',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    kind: text('kind').notNull(),
    status: text('status').notNull(),
    priority: text('priority').notNull(),
    public: boolean('public').notNull(),
    roadmapItemId: text('roadmap_item_id'),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
    updatedBy: text('updated_by'),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [
    index('tickets_created_by_idx').on(t.createdBy, t.id),
    index('tickets_public_idx').on(t.public, t.id),
    index('tickets_roadmap_item_idx').on(t.roadmapItemId),
  ],
)

export const ticketComments = pgTable(
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

/** See ./sqlite.ts for the meaning of the payment, entitlement and token tables. */
export const payments = pgTable(
  'payments',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    paletteId: text('palette_id').notNull(),
    amountCents: integer('amount_cents').notNull(),
    status: text('status').notNull(),
    providerRef: text('provider_ref'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull(),
  },
  (t) => [index('payments_user_idx').on(t.userId, t.id)],
)

export const paymentEvents = pgTable(
  'payment_events',
  {
    id: text('id').primaryKey(),
    paymentId: text('payment_id').notNull(),
    type: text('type').notNull(),
    receivedAt: time('received_at').notNull(),
  },
  (t) => [index('payment_events_payment_idx').on(t.paymentId)],
)

export const entitlements = pgTable(
  'entitlements',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    paletteId: text('palette_id').notNull(),
    paymentId: text('payment_id'),
    grantedAt: time('granted_at').notNull(),
  },
  (t) => [uniqueIndex('entitlements_user_palette_uq').on(t.userId, t.paletteId)],
)

export const accessTokens = pgTable(
  'access_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    expiresAt: time('expires_at').notNull(),
    lastUsedAt: time('last_used_at'),
    revokedAt: time('revoked_at'),
  },
  (t) => [uniqueIndex('access_tokens_hash_uq').on(t.tokenHash), index('access_tokens_user_idx').on(t.userId, t.id)],
)

export const documents = pgTable(
  'documents',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id').notNull(),
    userId: text('user_id').notNull(),
    storageKey: text('storage_key').notNull(),
    filename: text('filename').notNull(),
    mime: text('mime').notNull(),
    kind: text('kind').notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    status: text('status').notNull(),
    pages: integer('pages'),
    pagesDone: integer('pages_done').notNull(),
    chars: bigint('chars', { mode: 'number' }),
    error: text('error'),
    jobId: text('job_id'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull(),
    deletedAt: time('deleted_at'),
  },
  (t) => [
    index('documents_session_idx').on(t.sessionId, t.id),
    index('documents_user_idx').on(t.userId),
    uniqueIndex('documents_storage_key_uq').on(t.storageKey),
  ],
)

/** See ./sqlite.ts erasedIdentities. */
export const erasedIdentities = pgTable('erased_identities', {
  subject: text('subject').primaryKey(),
  erasedAt: time('erased_at').notNull(),
})

/** See ./sqlite.ts signInRevocations. */
export const signInRevocations = pgTable('sign_in_revocations', {
  subject: text('subject').primaryKey(),
  revokedAt: time('revoked_at').notNull(),
})
