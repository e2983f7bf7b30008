/**
 * createApp(config, deps) → the Elysia app, with no listen(), so tests build it
 * with any plugin choice and drive it through app.handle(new Request(…)).
 */
import { Elysia } from 'elysia'
import { createDatabase, type Database } from '../db/client'
import { ANONYMOUS, authRoutes, createAuthenticator, type Authenticator } from '../plugins/auth'
import { errors } from '../plugins/errors'
import { health, type ComponentCheck } from '../plugins/health'
import { logging } from '../plugins/logging'
import { createLogger, type Logger } from '../plugins/logging/logger'
import { rbac } from '../plugins/rbac'
import { securityHeaders } from '../plugins/security'
import type { Config } from './config'
import { apiDocsModule } from './modules/apidocs'
import { createAuditLog, type AuditLog } from './modules/audit/service'
import { homeModule } from './modules/home'
import { ErrorNotice } from '../views/layout'
import { ErrorPage } from './modules/home/views'
import { createIdentityService, type IdentityService } from './modules/identity/service'
import { meModule } from './modules/me'
import { sessionsModule } from './modules/sessions'
import { createSessionsService, type SessionsService } from './modules/sessions/service'
import packageJson from '../package.json'

export interface AppDeps {
  config: Config
  logger: Logger
  db: Database
  audit: AuditLog
  identity: IdentityService
  authenticator: Authenticator
  sessions: SessionsService
  /** Components /readyz reports on; later plugins add theirs. */
  readiness: Record<string, ComponentCheck>
  /** Releases every resource: flushes the audit queue, closes the database. */
  close(): Promise<void>
}

/**
 * Builds the services the routes use from configuration. Nothing here listens or migrates.
 * @example
 * const deps = createDeps(loadConfig())
 * await deps.db.migrate()
 */
export function createDeps(config: Config, overrides: Partial<Pick<AppDeps, 'logger' | 'db'>> = {}): AppDeps {
  const logger =
    overrides.logger ??
    createLogger({ level: config.logLevel, file: config.logFile, hashUsers: config.env === 'production' })
  const db = overrides.db ?? createDatabase({ url: config.db.url, poolSize: config.db.poolSize })
  const audit = createAuditLog({ db, logger })
  const identity = createIdentityService({
    db,
    audit,
    adminEmails: config.auth.adminEmails,
    cacheMs: config.auth.identityCacheMs,
  })
  const authenticator = createAuthenticator({ config, identity })
  const sessions = createSessionsService({ db, audit, questionMaxChars: config.limits.questionMaxChars })
  return {
    config,
    logger,
    db,
    audit,
    identity,
    authenticator,
    sessions,
    readiness: {
      db: { check: async () => {
          await db.ping()
          return { dialect: db.dialect }
        }, required: true },
    },
    async close() {
      await audit.close()
      await db.close()
    },
  }
}

/**
 * @example
 * const app = createApp(testConfig(), deps)
 * const res = await app.handle(new Request('http://localhost/healthz'))
 */
export function createApp(config: Config, deps: AppDeps) {
  const guard = rbac({ authenticator: deps.authenticator })
  return new Elysia({ name: 'agent-council' })
    .use(logging({ logger: deps.logger }))
    .use(securityHeaders({ hsts: config.env === 'production' }))
    .use(
      errors({
        logger: deps.logger,
        renderHtml: ({ status, message, requestId, fragment }) =>
          fragment
            ? (ErrorNotice({ message, requestId }) as string)
            : (ErrorPage({ actor: ANONYMOUS, status, message, requestId }) as string),
      }),
    )
    // Pages and fragments are JSX strings; mark them as HTML. (@elysiajs/html was tried: its
    // mapResponse swallows JSON bodies returned from onError for unmatched routes.)
    .mapResponse({ as: 'global' }, ({ responseValue, set }) => {
      if (typeof responseValue === 'string' && responseValue.startsWith('<')) set.headers['content-type'] = 'text/html; charset=utf-8'
    })
    .use(apiDocsModule({ guard, version: packageJson.version }))
    .use(health({ checks: deps.readiness, timeoutMs: config.readyz.timeoutMs, guard }))
    .use(authRoutes({ config, audit: deps.audit, guard }))
    .use(homeModule({ guard, config }))
    .use(meModule({ guard }))
    .use(sessionsModule({ sessions: deps.sessions, guard }))
}

export type App = ReturnType<typeof createApp>
