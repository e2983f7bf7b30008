/**
 * createApp(config, deps) → the Elysia app, with no listen(), so tests build it
 * with any plugin choice and drive it through app.handle(new Request(…)).
 */
import { Elysia } from 'elysia'
import { createDatabase, type Database } from '../db/client'
import { auditStreamReadiness, createAuditLog, createAuditStream, type AuditLog, type AuditStream } from '../plugins/audit'
import { createAuthenticator } from '../plugins/auth'
import { errors } from '../plugins/errors'
import { createErrorTracker, type ErrorTracker } from '../plugins/errors/tracker'
import { health, type ComponentCheck } from '../plugins/health'
import { logging, requestState } from '../plugins/logging'
import { createMetrics, metrics, type AppMetrics } from '../plugins/metrics'
import { observeAll } from '../plugins/metrics/jobs'
import { createLogger, type Logger } from '../plugins/logging/logger'
import { rbac } from '../plugins/rbac'
import { securityHeaders } from '../plugins/security'
import type { Config } from './config'
import type { Authenticator } from './identity'
import { apiDocsModule } from './modules/apidocs'
import { authModule } from './modules/auth'
import { createSignInRevocations, type SignInRevocations } from './modules/auth/revocations'
import { homeModule } from './modules/home'
import { ErrorNotice } from '../views/layout'
import { ErrorPage } from './modules/home/views'
import { createIdentityService, type IdentityService } from './modules/identity/service'
import { meModule } from './modules/me'
import { privacyModule } from './modules/privacy'
import { createErasureCheck, createPrivacyService, type PrivacyService } from './modules/privacy/service'
import { createRetention, type RetentionService } from './modules/retention/service'
import { palettesModule } from './modules/palettes'
import { createPalettesService, type PalettesService } from './modules/palettes/service'
import { paymentsModule } from './modules/payments'
import { createPaymentsService, type PaymentsService } from './modules/payments/service'
import { tokensModule } from './modules/tokens'
import { createTokensService, type TokensService } from './modules/tokens/service'
import { newSessionFormRefusal, progressRefusal, sessionsModule } from './modules/sessions'
import { createViewer } from './viewer'
import { agentsModule } from './modules/agents'
import { adminModule } from './modules/admin'
import { bindableRoles } from './modules/admin/role-bindings'
import { qualityModule } from './modules/quality'
import { adminJobsModule, jobsModule } from './modules/jobs'
import { createJobExecutor, type JobExecutor } from './modules/jobs/executor'
import { createJobLogWriter, type JobLogWriter } from './modules/jobs/job-log'
import { createUsageRecorder, usageJobObserver, type UsageRecorder } from './modules/usage/recorder'
import { usageModule } from './modules/usage'
import { createMetricsService } from './modules/usage/service'
import { createJobsService, type JobsService } from './modules/jobs/service'
import { createCouncil, type Council } from './council/engine'
import { ensureCatalog } from './modules/catalog/service'
import { councilStore } from './modules/councils/service'
import { createLlmProvider, type LlmProvider } from './llm'
import { createJobQueue, jobsReadiness, type JobQueue } from '../plugins/jobs'
import { createEventLog, createEventPublisher, eventsReadiness, type JobEventLog, type JobEventSink } from '../plugins/events'
import { createQuotaStore, quota, quotaReadiness, type QuotaStore } from '../plugins/quota'
import { createObjectStorage, storageReadiness, type ObjectStorage } from '../plugins/storage'
import { budgetsModule } from './modules/budgets'
import { roadmapModule } from './modules/roadmap'
import { ensureRoadmap } from './modules/roadmap/seed'
import { ticketsModule } from './modules/tickets'
import { docsModule } from './modules/docs'
import { createBudgetService, type BudgetService } from './modules/budgets/service'
import { createSessionsService, type SessionsService } from './modules/sessions/service'
import { documentsModule } from './modules/documents'
import { createExtractionRunner } from './modules/documents/extraction'
import { createDocumentsService, type DocumentsService } from './modules/documents/service'
import { createWebSearch, type WebSearch } from '../plugins/search'
import { createStores, type Stores } from './stores'
import { statusModule } from './modules/status'
import { createStatusOperations, type StatusOperations } from './modules/status/operations'
import packageJson from '../package.json'

export interface AppDeps {
  config: Config
  logger: Logger
  db: Database
  /** Every table, reached through its store (src/stores.ts). */
  stores: Stores
  audit: AuditLog
  /** Delivers the audit trail to the SIEM (AUDIT_STREAM_URL); null when not configured. */
  auditStream: AuditStream | null
  identity: IdentityService
  /** Revoked sign-in cookies: logout, role changes and erasure end them (src/modules/auth/revocations.ts). */
  signIns: SignInRevocations
  authenticator: Authenticator
  /** Personal access tokens; the authenticator resolves bearer tokens through it. */
  tokens: TokensService
  palettes: PalettesService
  payments: PaymentsService
  sessions: SessionsService
  /** Uploads, their extraction jobs, downloads and erasure (src/modules/documents). */
  documents: DocumentsService
  /** The web search of sessions that ask for one (WEB_SEARCH_PROVIDER; DISABLE_WEB_SEARCH refuses every query). */
  search: WebSearch
  llm: LlmProvider
  council: Council
  jobLogs: JobLogWriter
  executor: JobExecutor
  queue: JobQueue
  jobs: JobsService
  /** Rate-limit counters (QUOTA_BACKEND). */
  quota: QuotaStore
  /** Object bytes: uploaded documents, extracted text (STORAGE_BACKEND). */
  storage: ObjectStorage
  /** Export and erasure of a person's data (src/modules/privacy). */
  privacy: PrivacyService
  /** The purge of data past its retention period; scheduled by the server (inline) or the worker (bullmq). */
  retention: RetentionService
  /** Daily token and cost budgets; its meter is wired into the executor. */
  budgets: BudgetService
  /** Jobs' events (EVENTS_BACKEND): the runner publishes through `eventSink`, the event streams read `events`. */
  events: JobEventLog
  eventSink: JobEventSink
  /** Aborted when the server stops: ends every open event stream (clients resume elsewhere with their Last-Event-ID). */
  streams: AbortController
  /** Unexpected errors to Sentry when SENTRY_DSN is set (scrubbed; plugins/errors/tracker.ts); a no-op otherwise. */
  errors: ErrorTracker
  /** Prometheus metrics of this instance; the executor reports jobs and LLM calls to it. */
  metrics: AppMetrics
  /** Usage events into the rollups behind /admin (null with USAGE_EVENTS=false). */
  usage: UsageRecorder | null
  /** Components /readyz reports on; later plugins add theirs. */
  readiness: Record<string, ComponentCheck>
  /** The status page: report, incidents (src/modules/status). */
  status: StatusOperations['status']
  /** Worker heartbeat and backlog age alerts (log line + ALERT_WEBHOOK_URL). */
  staleness: StatusOperations['staleness']
  /**
   * What the server repeats on timers, one instance of all at a time (a lease each):
   * the status page's probe samples and the staleness check. Started by src/server.ts
   * (never by tests that do not ask), stopped by close().
   */
  background: StatusOperations['background']
  /** Releases every resource: flushes the audit queue, closes the database. */
  close(): Promise<void>
}

/**
 * Builds the services the routes use from configuration. Nothing here listens or migrates.
 * @example
 * const deps = createDeps(loadConfig())
 * await deps.db.migrate()
 */
export function createDeps(config: Config, overrides: Partial<Pick<AppDeps, 'logger' | 'db' | 'llm' | 'storage' | 'errors'>> = {}): AppDeps {
  const logger =
    overrides.logger ??
    createLogger({ level: config.logLevel, file: config.logFile, hashUsers: config.env === 'production' })
  const errorTracker =
    overrides.errors ??
    createErrorTracker(config.operations.sentry, {
      process: 'server',
      release: packageJson.version,
      onError: (error) => logger.warn('error tracking failed', { error: error.message }),
    })
  const db = overrides.db ?? createDatabase({ url: config.db.url, poolSize: config.db.poolSize, pgWriteBatching: config.db.pgWriteBatching, listenUrl: config.db.listenUrl })
  const stores = createStores(db, { sessionListCacheMb: config.db.sessionListCacheMb })
  const audit = createAuditLog({ store: stores.audit, logger, stream: config.auditStream !== null })
  const identity = createIdentityService({
    stores,
    audit,
    adminEmails: config.auth.adminEmails,
    cacheMs: config.auth.identityCacheMs,
  })
  const tokens = createTokensService({ stores, audit, logger })
  const signIns = createSignInRevocations(stores, config.auth.sessionSecret)
  const authenticator = createAuthenticator({
    config,
    identity,
    accessTokens: tokens,
    erasures: createErasureCheck(stores, config.auth.sessionSecret),
    signIns,
  })
  const palettes = createPalettesService({ stores, audit })
  const payments = createPaymentsService({ stores, audit, config })
  const storage = overrides.storage ?? createObjectStorage(config)
  const search = createWebSearch(config)
  let documents: DocumentsService | undefined
  const sessions = createSessionsService({
    stores,
    audit,
    questionMaxChars: config.limits.questionMaxChars,
    palettes,
    webSearch: search,
    eraseObjects: (sessionId) => documents!.eraseObjects(sessionId),
    storage,
    batchSize: config.retention.batchSize,
  })
  const llm = overrides.llm ?? createLlmProvider(config)
  const council = createCouncil({ store: councilStore(stores, storage), llm, config, search: (query, options) => search.search(query, options) })
  const jobLogs = createJobLogWriter({ store: stores.jobs, logger })
  const budgets = createBudgetService({ stores, config, logger, audit })
  const appMetrics = createMetrics()
  const auditStream = config.auditStream
    ? createAuditStream({ ...config.auditStream, outbox: stores.audit.outbox, logger, observe: appMetrics.auditStream })
    : null
  auditStream?.start()
  const events = createEventLog(config)
  let lastEventWarning = 0
  const eventSink = createEventPublisher(events, {
    deltaMs: config.events.deltaMs,
    // Followers of the job miss this event (the page falls back to polling); said at most every 10 s.
    onError: (error, jobId) => {
      if (Date.now() - lastEventWarning < 10_000) return
      lastEventWarning = Date.now()
      logger.warn('job event not written', { job_id: jobId, backend: events.backend, error: error.message })
    },
  })
  const extract = createExtractionRunner({ documents: stores.documents, storage, limits: config.uploads })
  const usage = config.usage.enabled ? createUsageRecorder({ store: stores.usage, logger, flushEveryMs: config.usage.flushMs }) : null
  const observe = usage ? observeAll(appMetrics.jobs, usageJobObserver(usage)) : appMetrics.jobs
  const executor = createJobExecutor({
    stores,
    council,
    logger,
    jobLogs,
    meter: budgets.meter,
    observe,
    events: eventSink,
    extract,
    report: (error, context) => errorTracker.capture(error, context),
  })
  const queue = createJobQueue(config, executor.process, (jobId, error) =>
    logger.debug('job attempt ended with an error', { job_id: jobId, error: (error as Error).message }),
  )
  appMetrics.watchQueue(queue)
  const jobs = createJobsService({ stores, audit, queue, budgets, events: eventSink, palettes })
  const quotaStore = createQuotaStore(config)
  documents = createDocumentsService({ stores, audit, storage, queue, sessions, config, logger })
  const privacy = createPrivacyService({
    stores,
    storage,
    audit,
    secret: config.auth.sessionSecret,
    batchSize: config.retention.batchSize,
    forgetIdentities: () => identity.invalidate(),
    signIns,
    flushPending: async () => {
      await Promise.all([usage?.flush(), jobLogs.flush()])
    },
    onExportError: (error) => logger.error('export failed midway', { error: (error as Error).message }),
  })
  const readiness: Record<string, ComponentCheck> = {
    db: {
      required: true,
      check: async () => {
        await db.ping()
        return { dialect: db.dialect }
      },
    },
    ...jobsReadiness(queue, config.operations.readyz),
    ...quotaReadiness(quotaStore),
    ...eventsReadiness(events),
    ...storageReadiness(storage),
    ...(auditStream ? auditStreamReadiness(auditStream) : {}),
  }
  const { status, staleness, background } = createStatusOperations({ config, stores, audit, logger, queue, readiness, probeLlm: (signal) => llm.probe?.(signal) ?? Promise.resolve() })
  return {
    config,
    logger,
    db,
    stores,
    audit,
    auditStream,
    identity,
    signIns,
    authenticator,
    tokens,
    palettes,
    payments,
    sessions,
    documents,
    search,
    llm,
    council,
    jobLogs,
    executor,
    queue,
    jobs,
    quota: quotaStore,
    storage,
    privacy,
    retention: createRetention({ stores, storage, audit, logger, retention: config.retention }),
    budgets,
    events,
    eventSink,
    streams: new AbortController(),
    metrics: appMetrics,
    usage,
    readiness,
    errors: errorTracker,
    status,
    staleness,
    background,
    async close() {
      this.streams.abort()
      await Promise.all([background.sampler?.stop(), background.staleness?.stop()])
      await staleness.flush()
      await queue.close()
      await eventSink.flush()
      await events.close()
      await quotaStore.close()
      await storage.close()
      await budgets.close()
      await jobLogs.close()
      await usage?.close()
      await audit.close()
      // After the audit queue's last batch reached the outbox, so the grace can deliver it too.
      await auditStream?.stop(config.auditStream?.shutdownGraceMs)
      await errorTracker.flush()
      await db.close()
    },
  }
}

/**
 * Brings the database to the current schema and seeds the default agents and
 * palettes; with the in-process runner, re-enqueues jobs a previous process
 * left queued or running (their stored stages make them resume, not restart).
 */
export async function prepare(deps: AppDeps, { migrate = true } = {}): Promise<void> {
  if (migrate) await deps.db.migrate()
  await ensureCatalog(deps.stores.catalog)
  await ensureRoadmap(deps.stores)
  if (deps.queue.backend === 'inline') {
    const unfinished = await deps.stores.jobs.unfinished()
    for (const jobId of unfinished) await deps.queue.enqueue(jobId)
    if (unfinished.length > 0) deps.logger.info('re-enqueued unfinished jobs', { count: unfinished.length })
  }
}

/**
 * @example
 * const app = createApp(testConfig(), deps)
 * const res = await app.handle(new Request('http://localhost/healthz'))
 */
export function createApp(config: Config, deps: AppDeps) {
  const guard = rbac({ authenticator: deps.authenticator })
  const limiter = quota({ store: deps.quota, limits: config.quota.limits, logger: deps.logger })
  // Error pages and refused forms show the person their own navigation, whatever went wrong.
  const viewer = createViewer(deps.authenticator)
  const pages = { stores: deps.stores, sessions: deps.sessions, jobs: deps.jobs }
  // The new-session form's upload and web-search fields, as this server offers them.
  const sources = { limits: config.uploads, uploads: !config.features.disableUploads, webSearch: deps.search.enabled }
  const form = { palettes: deps.palettes, sources, questionMaxChars: config.limits.questionMaxChars }
  return new Elysia({ name: 'agent-council', encodeSchema: false })
    .use(logging({ logger: deps.logger }))
    .use(securityHeaders({ hsts: config.env === 'production' }))
    .use(
      errors({
        logger: deps.logger,
        report: (error, context) => deps.errors.capture(error, context),
        renderHtml: async ({ status, message, requestId, fragment, request, cookie }) =>
          fragment
            ? (ErrorNotice({ message, requestId }) as string)
            : (ErrorPage({ actor: await viewer(request, cookie), status, message, requestId }) as string),
        forms: {
          'POST /sessions': newSessionFormRefusal({ ...form, viewer }),
          'POST /sessions/:id/run': progressRefusal({ ...pages, viewer }, async (_, params) => params.id ?? null),
          'POST /jobs/:id/cancel': progressRefusal({ ...pages, viewer }, async (actor, params) => (await deps.jobs.get(actor, params.id ?? '')).sessionId),
        },
      }),
    )
    // Pages and fragments are JSX strings; mark them as HTML. (@elysiajs/html was tried: its
    // mapResponse swallows JSON bodies returned from onError for unmatched routes.)
    .mapResponse({ as: 'global' }, ({ responseValue, set }) => {
      if (typeof responseValue === 'string' && responseValue.startsWith('<')) set.headers['content-type'] = 'text/html; charset=utf-8'
    })
    // After errors, so a refused scrape answers in the error shape; before every route, so all are counted.
    .use(
      metrics({
        metrics: deps.metrics,
        token: config.metrics.token,
        production: config.env === 'production',
        trustedIps: config.auth.trustedProxyIps,
        requestStart: (request) => requestState(request)?.startedAt,
        onResponse: deps.usage
          ? (request, { method, route, status, seconds }) => {
              const state = requestState(request)
              deps.usage?.request({ method, route, status, durationMs: seconds * 1000, userId: state?.userId, role: state?.role })
            }
          : undefined,
      }),
    )
    .use(apiDocsModule({ guard, version: packageJson.version }))
    .use(health({ checks: deps.readiness, timeoutMs: config.operations.readyz.timeoutMs, slowMs: config.operations.readyz.slowMs, guard }))
    .use(authModule({ config, audit: deps.audit, signIns: deps.signIns, guard }))
    .use(homeModule({ guard }))
    .use(meModule({ guard, quota: limiter, tokens: deps.tokens }))
    .use(privacyModule({ privacy: deps.privacy, guard, quota: limiter }))
    .use(tokensModule({ tokens: deps.tokens, guard, quota: limiter }))
    .use(palettesModule({ palettes: deps.palettes, payments: deps.payments, stores: deps.stores, audit: deps.audit, guard, quota: limiter }))
    .use(paymentsModule({ payments: deps.payments, guard, quota: limiter }))
    .use(
      sessionsModule({
        ...pages,
        ...form,
        guard,
        quota: limiter,
        events: deps.events,
        heartbeatMs: config.events.heartbeatMs,
        closing: deps.streams.signal,
        documents: deps.documents,
      }),
    )
    .use(documentsModule({ documents: deps.documents, guard, quota: limiter }))
    .use(
      jobsModule({
        jobs: deps.jobs,
        events: deps.events,
        heartbeatMs: config.events.heartbeatMs,
        closing: deps.streams.signal,
        guard,
        quota: limiter,
        onCancelled: (sessionId) => `/sessions/${sessionId}`,
      }),
    )
    .use(adminJobsModule({ jobs: deps.jobs, audit: deps.audit, guard, quota: limiter }))
    .use(agentsModule({ catalog: deps.stores.catalog, jobs: deps.jobs, guard, quota: limiter }))
    .use(budgetsModule({ budgets: deps.budgets, guard, quota: limiter, audit: deps.audit, roles: bindableRoles(config.agentRoleAllowlist, Object.values(config.auth.roleClaimMap)) }))
    .use(roadmapModule({ stores: deps.stores, audit: deps.audit, guard, quota: limiter }))
    .use(ticketsModule({ stores: deps.stores, audit: deps.audit, guard, quota: limiter }))
    .use(docsModule({ guard }))
    .use(statusModule({ status: deps.status, guard, quota: limiter }))
    .use(qualityModule({ stores: deps.stores, audit: deps.audit, guard }))
    .use(adminModule({ db: deps.db, stores: deps.stores, audit: deps.audit, auditEvents: deps.stores.audit, identity: deps.identity, signIns: deps.signIns, agentRoleAllowlist: config.agentRoleAllowlist, jwtRoles: Object.values(config.auth.roleClaimMap), guard }))
    .use(
      usageModule({
        metrics: createMetricsService({
          store: deps.stores.usage,
          limits: deps.stores.budgets,
          defaults: { tokens: config.budgets.dailyTokens, cost: config.budgets.dailyCostMicroUsd },
          queueHealth: () => deps.queue.health(),
        }),
        audit: deps.audit,
        guard,
      }),
    )
}

type App = ReturnType<typeof createApp>
