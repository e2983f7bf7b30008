/**
 * The one configuration module. Every setting is read from the environment,
 * has a per-environment default, and is validated at boot: a bad value throws
 * a ConfigError naming the variable, and production refuses unsafe settings.
 * How each kind of value is parsed: ./parsers.ts.
 */
import { resolve } from 'node:path'
import {
  boolean,
  ConfigError,
  DEFAULT_PRICES,
  DEFAULT_RATE_LIMITS,
  httpBaseUrl,
  httpUrl,
  integer,
  keyPrefix,
  list,
  oneOf,
  pairs,
  prices,
  rateLimits,
  read,
  url,
  usd,
  type Env,
  type PriceTable,
  type RateLimit,
} from './parsers'
import { readEventsConfig, type EventsConfig } from './events'
import { readOperationsConfig, type OperationsConfig } from './operations'
import { readUsageConfig, type UsageConfig } from './usage'
import { readRetentionConfig, type BackupConfig, type RetentionConfig } from './retention'
import { readUploadConfig, type UploadConfig } from './uploads'

export { ConfigError, DEFAULT_RATE_LIMITS, type PriceTable, type RateLimit } from './parsers'

type AppEnv = 'development' | 'test' | 'production'

export interface Config {
  env: AppEnv
  port: number
  host: string
  dataDir: string
  /** Where users reach the app; read by the hardening work in flight (issue 14: the origin of cookie-authenticated requests). */
  publicUrl: string
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** SPEC §5: raw prompts and answers are logged only when set. Nothing logs them yet, so off holds by construction. */
  logPrompts: boolean
  logFile: string | null
  db: {
    url: string
    dialect: 'sqlite' | 'pg'
    migrateOnStart: boolean
    poolSize: number
    /** PostgreSQL: one socket write per query (db/pg/write-batching.ts); an optimisation, safe to turn off. */
    pgWriteBatching: boolean
    /** DATABASE_LISTEN_URL: where the session list cache LISTENs (PostgreSQL; null = DATABASE_URL). */
    listenUrl: string | null
    /** SESSION_LIST_CACHE_MB: memory for list pages kept per server (0 = off). */
    sessionListCacheMb: number
  }
  auth: {
    mode: 'dev' | 'prod'
    trustUserIdHeader: boolean
    allowRoleHeader: boolean
    sessionSecret: string
    cookieSecure: boolean
    trustedProxyIps: string[]
    jwtSecret: string | null
    jwksUrl: string | null
    jwtIssuer: string | null
    jwtAudience: string | null
    roleClaimMap: Record<string, string>
    /** The JWT `email` claim names the person only with `email_verified: true`, unless this is set (issue 14, finding 8). */
    jwtTrustUnverifiedEmail: boolean
    /** `roles` claims missing from JWT_ROLE_MAP are dropped, unless this is set: then they are internal roles by name. */
    jwtPassUnmappedRoles: boolean
    adminEmails: string[]
    identityCacheMs: number
  }
  agentRoleAllowlist: string[]
  jobs: {
    backend: 'inline' | 'bullmq'
    redisUrl: string
    /** BullMQ queue name; separate installs (or test runs) sharing one Redis use different names. */
    queueName: string
    concurrency: number
    attempts: number
    /** A dead worker's job is taken over after about this long. */
    lockMs: number
    shutdownGraceMs: number
  }
  events: EventsConfig
  usage: UsageConfig
  quota: {
    backend: 'memory' | 'redis'
    /** Key prefix in Redis; installs (or test runs) sharing one Redis use different prefixes. */
    prefix: string
    /** Named per-user rate limits that routes declare with `quota: '<name>'`. */
    limits: Record<string, RateLimit>
  }
  budgets: {
    /** Default per-user daily budgets (UTC days); admins override per user or role. */
    dailyTokens: number
    dailyCostMicroUsd: number
    /** 80 % / 95 % alerts are also POSTed here as JSON, when set. */
    alertWebhookUrl: string | null
    alertWebhookTimeoutMs: number
  }
  storage: {
    backend: 'local' | 's3'
    /** The local backend's root: DATA_DIR/objects. */
    localDir: string
    s3: {
      endpoint: string | null
      bucket: string | null
      region: string
      /** Both set, or neither (then Bun's S3 client reads AWS_ACCESS_KEY_ID/… from the environment). */
      accessKeyId: string | null
      secretAccessKey: string | null
      /** true: https://endpoint/bucket/key (MinIO, most S3-compatible servers); false: virtual-hosted https://bucket.endpoint/key. */
      forcePathStyle: boolean
    }
  }
  llm: {
    provider: 'offline' | 'openai'
    offlineLatencyMs: number
    openaiApiKey: string | null
    openaiBaseUrl: string
    openaiModel: string
    /** Provider calls in flight at once per process (LLM_MAX_IN_FLIGHT); default JOBS_CONCURRENCY × COUNCIL_CONCURRENCY. */
    maxInFlight: number
    prices: PriceTable
    /** Offline provider only: agents whose calls fail, for demos and tests of partial councils. */
    offlineFailures: Record<string, string>
  }
  council: {
    /** Drafts needed for a council to go on; fewer fails the job with the providers' errors. */
    quorum: number
    draftConcurrency: number
    reviewExcludeSelf: boolean
    maxTokens: number
  }
  limits: { questionMaxChars: number }
  /** disableUploads is read by the documents work in flight (issue 9: 403 uploads_disabled). */
  features: { disableUploads: boolean; disableWebSearch: boolean }
  /** Document uploads and their extraction (src/config/uploads.ts). */
  uploads: UploadConfig
  search: {
    /** `none` answers every search with web_search_not_configured; DISABLE_WEB_SEARCH overrides both. */
    provider: 'none' | 'searxng'
    /** Base URL of a SearXNG instance with the JSON format enabled; required with `searxng`. */
    searxngUrl: string | null
    timeoutMs: number
  }
  /** /readyz thresholds, staleness alerts, status-page samples, Sentry (./operations.ts). */
  operations: OperationsConfig
  metrics: {
    /** When set, scraping /metrics needs `Authorization: Bearer <token>`; when unset, production refuses /metrics on PORT (METRICS_PORT: loopback and TRUSTED_PROXY_IPS). */
    token: string | null
    /** The server and the worker also serve /metrics on this separate listener when set (the server also on PORT). */
    port: number | null
  }
  payments: {
    /** HMAC-SHA256 key of provider webhooks (`X-Signature`); null in production when unset: webhooks and checkout are then refused. */
    webhookSecret: string | null
    /** Key of the dev proof (an HMAC of the payment id) that confirm accepts; null in production when unset. */
    proofSecret: string | null
    /** How old a webhook's signed timestamp may be, either way. */
    webhookToleranceSeconds: number
  }
  retention: RetentionConfig
  /** `bun run backup` and friends (scripts/backup.ts). */
  backup: BackupConfig
  /** Every audit event also goes to this SIEM (plugins/audit/stream.ts); null when AUDIT_STREAM_URL is unset. */
  auditStream: AuditStreamConfig | null
}

interface AuditStreamConfig {
  url: string
  authorization: string | null
  batchSize: number
  timeoutMs: number
  backoffMs: number
  backoffMaxMs: number
  pollMs: number
  /** /readyz says degraded once the oldest undelivered event is older than this. */
  maxLagMs: number
  /** On shutdown, how long to keep delivering what waits. */
  shutdownGraceMs: number
}

const DEV_SECRET = 'dev-insecure-session-secret-change-me'
const DEV_WEBHOOK_SECRET = 'dev-insecure-payments-webhook-secret-change-me'
const DEV_PROOF_SECRET = 'dev-insecure-payments-proof-secret-change-me'

/** A signing key: long enough to resist guessing, and never a built-in dev value in production. */
const secret = (production: boolean, devValue: string) => (raw: string): string => {
  if (raw.length < 32) throw new Error('must be at least 32 characters')
  if (production && raw === devValue) throw new Error('production refuses the built-in development value; set a random value of 32+ characters')
  return raw
}

/** The AUDIT_STREAM_* knobs, checked even without a URL so a typo fails at boot rather than when streaming is switched on. */
function auditStream(env: Env): AuditStreamConfig | null {
  const knobs = {
    authorization: read(env, 'AUDIT_STREAM_AUTHORIZATION', null as string | null, (raw) => {
      if (!/^[\x20-\x7e]+$/.test(raw)) throw new Error('must be printable ASCII on one line (it is sent as the Authorization header)')
      return raw
    }),
    batchSize: read(env, 'AUDIT_STREAM_BATCH', 500, integer(1, 10_000)),
    timeoutMs: read(env, 'AUDIT_STREAM_TIMEOUT_MS', 10_000, integer(100, 120_000)),
    backoffMs: read(env, 'AUDIT_STREAM_BACKOFF_MS', 1000, integer(10, 600_000)),
    backoffMaxMs: read(env, 'AUDIT_STREAM_BACKOFF_MAX_MS', 60_000, integer(10, 3_600_000)),
    pollMs: read(env, 'AUDIT_STREAM_POLL_MS', 1000, integer(10, 60_000)),
    maxLagMs: read(env, 'AUDIT_STREAM_MAX_LAG_MS', 300_000, integer(1000, 86_400_000)),
    shutdownGraceMs: read(env, 'AUDIT_STREAM_SHUTDOWN_GRACE_MS', 5000, integer(0, 600_000)),
  }
  if (knobs.backoffMaxMs < knobs.backoffMs) throw new ConfigError('AUDIT_STREAM_BACKOFF_MAX_MS', `must be at least AUDIT_STREAM_BACKOFF_MS (${knobs.backoffMs})`)
  const target = read(env, 'AUDIT_STREAM_URL', null as string | null, httpUrl)
  return target ? { url: target, ...knobs } : null
}

/**
 * Builds and validates the configuration from an environment.
 * @example
 * const config = loadConfig({ APP_ENV: 'test', DATA_DIR: '/tmp/x' })
 */
export function loadConfig(env: Env = process.env): Config {
  const appEnv = read(env, 'APP_ENV', 'development' as AppEnv, oneOf('development', 'test', 'production'))
  const production = appEnv === 'production'
  const dataDir = resolve(read(env, 'DATA_DIR', './data', String))
  const databaseUrl = read(env, 'DATABASE_URL', `file:${dataDir}/council.db`, (raw) => {
    if (/^postgres(ql)?:\/\//.test(raw) || raw.startsWith('file:') || raw === ':memory:') return raw
    throw new Error('must be postgres://… or file:…')
  })
  const port = read(env, 'PORT', 3000, integer(0, 65535))
  const jobsBackend = read(env, 'JOBS_BACKEND', 'inline' as const, oneOf('inline', 'bullmq'))
  const jobsConcurrency = read(env, 'JOBS_CONCURRENCY', 100, integer(1, 10_000))
  const councilConcurrency = read(env, 'COUNCIL_CONCURRENCY', 8, integer(1, 100))
  const authMode = read(env, 'AUTH_MODE', production ? ('prod' as const) : ('dev' as const), oneOf('dev', 'prod'))

  const config: Config = {
    env: appEnv,
    port,
    host: read(env, 'HOST', production ? '0.0.0.0' : '127.0.0.1', String),
    dataDir,
    publicUrl: read(env, 'PUBLIC_URL', `http://localhost:${port}`, url),
    logLevel: read(env, 'LOG_LEVEL', appEnv === 'test' ? 'warn' : 'info', oneOf('debug', 'info', 'warn', 'error')),
    logPrompts: read(env, 'LOG_PROMPTS', false, boolean),
    logFile: read(env, 'LOG_FILE', appEnv === 'test' ? null : `${dataDir}/logs/app.log`, String),
    db: {
      url: databaseUrl,
      dialect: databaseUrl.startsWith('postgres') ? 'pg' : 'sqlite',
      migrateOnStart: read(env, 'MIGRATE_ON_START', appEnv !== 'production', boolean),
      poolSize: read(env, 'DB_POOL_SIZE', 10, integer(1, 200)),
      pgWriteBatching: read(env, 'PG_WRITE_BATCHING', true, boolean),
      /**
       * PostgreSQL only: where a server LISTENs for changes to people's session lists
       * (src/modules/sessions/list-cache.pg.ts). LISTEN needs one backend for the whole
       * session, so behind a pooler in transaction mode (PgBouncer) this must reach
       * PostgreSQL directly or through a session-mode pool; by default DATABASE_URL.
       */
      listenUrl: read(env, 'DATABASE_LISTEN_URL', null as string | null, (raw) => {
        if (/^postgres(ql)?:\/\//.test(raw)) return raw
        throw new Error('must be postgres://… (a connection LISTEN can keep: PostgreSQL directly or a session-mode pool)')
      }),
      /** Memory each server gives list pages kept while provably current (PostgreSQL only); 0 turns the cache off. */
      sessionListCacheMb: read(env, 'SESSION_LIST_CACHE_MB', 32, integer(0, 4096)),
    },
    auth: {
      mode: authMode,
      trustUserIdHeader: read(env, 'TRUST_X_USER_ID', authMode === 'dev', boolean),
      allowRoleHeader: appEnv === 'test',
      sessionSecret: read(env, 'SESSION_SECRET', DEV_SECRET, (raw) => {
        if (raw.length < 32) throw new Error('must be at least 32 characters')
        return raw
      }),
      cookieSecure: read(env, 'COOKIE_SECURE', production, boolean),
      trustedProxyIps: read(env, 'TRUSTED_PROXY_IPS', [] as string[], list),
      jwtSecret: read(env, 'JWT_SECRET', null as string | null, (raw) => {
        if (raw.length < 32) throw new Error('must be at least 32 characters')
        return raw
      }),
      jwksUrl: read(env, 'JWT_JWKS_URL', null as string | null, url),
      jwtIssuer: read(env, 'JWT_ISSUER', null as string | null, String),
      jwtAudience: read(env, 'JWT_AUDIENCE', null as string | null, String),
      roleClaimMap: read(env, 'JWT_ROLE_MAP', {} as Record<string, string>, pairs),
      jwtTrustUnverifiedEmail: read(env, 'JWT_TRUST_UNVERIFIED_EMAIL', false, boolean),
      jwtPassUnmappedRoles: read(env, 'JWT_PASS_UNMAPPED_ROLES', false, boolean),
      adminEmails: read(env, 'ADMIN_EMAILS', [] as string[], (raw) => list(raw).map((email) => email.toLowerCase())),
      identityCacheMs: read(env, 'IDENTITY_CACHE_MS', 5000, integer(0, 600_000)),
    },
    agentRoleAllowlist: read(env, 'AGENT_ROLE_ALLOWLIST', ['GODMODE', 'SUPER_ADMIN', 'ADMIN_AGENT'], list),
    jobs: {
      backend: jobsBackend,
      redisUrl: read(env, 'REDIS_URL', 'redis://127.0.0.1:6379', url),
      queueName: read(env, 'JOBS_QUEUE', 'council-jobs', (raw) => {
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new Error('must be 1–64 letters, digits, _ or -')
        return raw
      }),
      concurrency: jobsConcurrency,
      attempts: read(env, 'JOBS_ATTEMPTS', 3, integer(1, 20)),
      lockMs: read(env, 'JOBS_LOCK_MS', 30_000, integer(1000, 600_000)),
      shutdownGraceMs: read(env, 'JOBS_SHUTDOWN_GRACE_MS', 25_000, integer(0, 600_000)),
    },
    events: readEventsConfig((name, fallback, parse) => read(env, name, fallback, parse), jobsBackend),
    usage: readUsageConfig((name, fallback, parse) => read(env, name, fallback, parse)),
    quota: {
      backend: read(env, 'QUOTA_BACKEND', 'memory' as const, oneOf('memory', 'redis')),
      prefix: read(env, 'QUOTA_PREFIX', 'quota', keyPrefix),
      limits: read(env, 'RATE_LIMITS', DEFAULT_RATE_LIMITS, rateLimits),
    },
    budgets: {
      dailyTokens: read(env, 'DAILY_TOKEN_BUDGET', 200_000, integer(0, 1_000_000_000_000)),
      dailyCostMicroUsd: read(env, 'DAILY_COST_BUDGET_USD', 5_000_000, usd),
      alertWebhookUrl: read(env, 'ALERT_WEBHOOK_URL', null as string | null, url),
      alertWebhookTimeoutMs: read(env, 'ALERT_WEBHOOK_TIMEOUT_MS', 5000, integer(100, 60_000)),
    },
    storage: {
      backend: read(env, 'STORAGE_BACKEND', 'local' as const, oneOf('local', 's3')),
      localDir: `${dataDir}/objects`,
      s3: {
        endpoint: read(env, 'S3_ENDPOINT', null as string | null, (raw) => {
          if (!/^https?:$/.test(new URL(url(raw)).protocol)) throw new Error(`must be an http:// or https:// URL (got "${raw}")`)
          return raw
        }),
        bucket: read(env, 'S3_BUCKET', null as string | null, (raw) => {
          if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw)) throw new Error(`must be an S3 bucket name: 3–63 lowercase letters, digits, . or - (got "${raw}")`)
          return raw
        }),
        region: read(env, 'S3_REGION', 'us-east-1', (raw) => {
          if (!/^[a-z0-9-]{1,64}$/.test(raw)) throw new Error(`must be a region name such as us-east-1 or auto (got "${raw}")`)
          return raw
        }),
        accessKeyId: read(env, 'S3_ACCESS_KEY_ID', null as string | null, String),
        secretAccessKey: read(env, 'S3_SECRET_ACCESS_KEY', null as string | null, String),
        forcePathStyle: read(env, 'S3_FORCE_PATH_STYLE', true, boolean),
      },
    },
    llm: {
      provider: read(env, 'LLM_PROVIDER', 'offline' as const, oneOf('offline', 'openai')),
      offlineLatencyMs: read(env, 'LLM_OFFLINE_LATENCY_MS', 0, integer(0, 600_000)),
      openaiApiKey: read(env, 'OPENAI_API_KEY', null as string | null, String),
      openaiBaseUrl: read(env, 'OPENAI_BASE_URL', 'https://api.openai.com/v1', url),
      openaiModel: read(env, 'OPENAI_MODEL', 'gpt-4o-mini', String),
      // Every running job's calls at once (the default never holds one back); lower it to a provider's rate limits.
      maxInFlight: read(env, 'LLM_MAX_IN_FLIGHT', Math.min(65_535, jobsConcurrency * councilConcurrency), integer(1, 65_535)),
      offlineFailures: read(env, 'LLM_OFFLINE_FAIL_AGENTS', {} as Record<string, string>, (raw) =>
        Object.fromEntries(
          list(raw).map((entry) => {
            const [agent, ...message] = entry.split(':')
            return [agent!.trim(), message.join(':').trim() || 'simulated provider failure']
          }),
        ),
      ),
      prices: read(env, 'LLM_PRICES', DEFAULT_PRICES, prices),
    },
    council: {
      quorum: read(env, 'COUNCIL_QUORUM', 2, integer(1, 50)),
      draftConcurrency: councilConcurrency,
      reviewExcludeSelf: read(env, 'COUNCIL_REVIEW_EXCLUDE_SELF', true, boolean),
      maxTokens: read(env, 'COUNCIL_MAX_TOKENS', 1024, integer(16, 200_000)),
    },
    limits: {
      questionMaxChars: read(env, 'QUESTION_MAX_CHARS', 8000, integer(10, 200_000)),
    },
    features: {
      disableUploads: read(env, 'DISABLE_UPLOADS', false, boolean),
      disableWebSearch: read(env, 'DISABLE_WEB_SEARCH', false, boolean),
    },
    uploads: readUploadConfig((name, fallback, parse) => read(env, name, fallback, parse)),
    search: {
      provider: read(env, 'WEB_SEARCH_PROVIDER', 'none' as const, oneOf('none', 'searxng')),
      searxngUrl: read(env, 'SEARXNG_URL', null as string | null, httpBaseUrl),
      timeoutMs: read(env, 'SEARXNG_TIMEOUT_MS', 5000, integer(100, 60_000)),
    },
    operations: readOperationsConfig((name, fallback, parse) => read(env, name, fallback, parse), appEnv),
    metrics: {
      token: read(env, 'METRICS_TOKEN', null as string | null, (raw) => {
        if (raw.length < 16 || !/^[\x21-\x7e]+$/.test(raw)) throw new Error('must be at least 16 printable characters without spaces')
        return raw
      }),
      port: read(env, 'METRICS_PORT', null as number | null, integer(1, 65535)),
    },
    payments: {
      // Outside production a built-in key lets payments work out of the box; production has none unless set.
      webhookSecret: read(env, 'PAYMENTS_WEBHOOK_SECRET', production ? null : DEV_WEBHOOK_SECRET, secret(production, DEV_WEBHOOK_SECRET)),
      proofSecret: read(env, 'PAYMENTS_PROOF_SECRET', production ? null : DEV_PROOF_SECRET, secret(production, DEV_PROOF_SECRET)),
      webhookToleranceSeconds: read(env, 'PAYMENTS_WEBHOOK_TOLERANCE_S', 300, integer(1, 3600)),
    },
    ...readRetentionConfig((name, fallback, parse) => read(env, name, fallback, parse), dataDir),
    auditStream: auditStream(env),
  }

  validateCombination(config)
  return config
}

/** Rules that involve more than one variable, and production's refusals. */
function validateCombination(config: Config): void {
  const { auth } = config
  if (auth.mode === 'prod' && !auth.jwtSecret && !auth.jwksUrl && auth.trustedProxyIps.length === 0)
    throw new ConfigError(
      'AUTH_MODE',
      'prod needs at least one identity source: JWT_SECRET, JWT_JWKS_URL or TRUSTED_PROXY_IPS',
    )
  if (config.jobs.backend === 'bullmq' && !config.jobs.redisUrl)
    throw new ConfigError('REDIS_URL', 'is required when JOBS_BACKEND=bullmq')
  validateStorage(config)
  if (config.search.provider === 'searxng' && !config.search.searxngUrl)
    throw new ConfigError('SEARXNG_URL', 'is required when WEB_SEARCH_PROVIDER=searxng (e.g. http://searxng:8080)')
  if (config.llm.provider === 'openai' && !config.llm.openaiApiKey)
    throw new ConfigError('OPENAI_API_KEY', 'is required when LLM_PROVIDER=openai')

  if (config.env !== 'production') return
  if (auth.mode === 'dev')
    throw new ConfigError('AUTH_MODE', 'production refuses dev auth; set AUTH_MODE=prod with JWT or a trusted proxy')
  if (auth.trustUserIdHeader)
    throw new ConfigError('TRUST_X_USER_ID', 'production refuses to trust the X-User-Id header; unset it')
  if (auth.sessionSecret === DEV_SECRET)
    throw new ConfigError('SESSION_SECRET', 'production refuses the default secret; set a random value of 32+ characters')
  if (!auth.cookieSecure)
    throw new ConfigError('COOKIE_SECURE', 'production requires secure cookies')
}

function validateStorage({ storage, env }: Config): void {
  const { s3 } = storage
  if (s3.accessKeyId && !s3.secretAccessKey) throw new ConfigError('S3_SECRET_ACCESS_KEY', 'is required when S3_ACCESS_KEY_ID is set')
  if (s3.secretAccessKey && !s3.accessKeyId) throw new ConfigError('S3_ACCESS_KEY_ID', 'is required when S3_SECRET_ACCESS_KEY is set')
  if (storage.backend !== 's3') return
  const missing = [!s3.endpoint && 'S3_ENDPOINT', !s3.bucket && 'S3_BUCKET'].filter(Boolean)
  if (missing.length > 0) throw new ConfigError('STORAGE_BACKEND', `s3 needs S3_ENDPOINT and S3_BUCKET (missing: ${missing.join(', ')})`)
  if (env === 'production' && !s3.accessKeyId)
    throw new ConfigError('S3_ACCESS_KEY_ID', 'production with STORAGE_BACKEND=s3 requires S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY')
}

/**
 * For process entry points (server, worker): a bad setting stops start-up with
 * one line naming the variable, not a stack trace.
 */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`Configuration error: ${error.message}`)
    process.exit(1)
  }
}

/** The configuration tests build apps from: isolated data dir, test env. */
export function testConfig(overrides: Env = {}): Config {
  return loadConfig({ APP_ENV: 'test', ...overrides })
}
