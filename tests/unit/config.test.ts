/**
 * loadConfig: per-environment defaults, validation naming the variable, and
 * production's refusal of unsafe settings (SPEC §3).
 */
import { describe, expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { ConfigError, loadConfig, testConfig } from '../../src/config'

/** A production environment that passes every check; tests break one thing at a time. */
const SAFE_PRODUCTION = {
  APP_ENV: 'production',
  AUTH_MODE: 'prod',
  JWT_SECRET: 'j'.repeat(40),
  SESSION_SECRET: 's'.repeat(40),
  DATA_DIR: '/tmp/council-config-test',
}

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it does not throw one). */
function configErrorOf(env: Record<string, string>): ConfigError {
  let thrown: unknown
  try {
    loadConfig(env)
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ConfigError)
  return thrown as ConfigError
}

function expectRefused(env: Record<string, string>, variable: string) {
  const error = configErrorOf(env)
  expect(error.variable).toBe(variable)
  expect(error.message).toContain(variable)
  return error
}

describe('loadConfig defaults', () => {
  test('development is the default environment, with dev auth and the embedded backends', () => {
    const config = loadConfig({ DATA_DIR: '/tmp/council-dev' })
    expect(config.env).toBe('development')
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.dataDir).toBe('/tmp/council-dev')
    expect(config.logLevel).toBe('info')
    expect(config.logFile).toBe('/tmp/council-dev/logs/app.log')
    expect(config.db.url).toBe('file:/tmp/council-dev/council.db')
    expect(config.db.dialect).toBe('sqlite')
    expect(config.db.migrateOnStart).toBe(true)
    expect(config.auth.mode).toBe('dev')
    expect(config.auth.trustUserIdHeader).toBe(true)
    // X-Role is a test-only affordance.
    expect(config.auth.allowRoleHeader).toBe(false)
    expect(config.auth.cookieSecure).toBe(false)
    expect(config.jobs.backend).toBe('inline')
    expect(config.quota.backend).toBe('memory')
    expect(config.storage.backend).toBe('local')
    expect(config.llm.provider).toBe('offline')
    expect(config.limits).toEqual({ questionMaxChars: 8000 })
    expect(config.agentRoleAllowlist).toEqual(['GODMODE', 'SUPER_ADMIN', 'ADMIN_AGENT'])
    expect(config.features).toEqual({ disableUploads: false, disableWebSearch: false })
  })

  test('DATA_DIR defaults to ./data resolved against the working directory', () => {
    const config = loadConfig({})
    expect(config.dataDir).toBe(resolve('./data'))
  })

  test('test environment is quiet, writes no log file and honours X-Role', () => {
    const config = loadConfig({ APP_ENV: 'test', DATA_DIR: '/tmp/council-t' })
    expect(config.env).toBe('test')
    expect(config.logLevel).toBe('warn')
    expect(config.logFile).toBeNull()
    expect(config.auth.mode).toBe('dev')
    expect(config.auth.allowRoleHeader).toBe(true)
    expect(config.auth.trustUserIdHeader).toBe(true)
  })

  test('testConfig is loadConfig with APP_ENV=test, and overrides win', () => {
    expect(testConfig({ DATA_DIR: '/tmp/x' }).env).toBe('test')
    expect(testConfig({ DATA_DIR: '/tmp/x', PORT: '4100' }).port).toBe(4100)
  })

  test('production defaults to prod auth, all interfaces, secure cookies and no auto-migration', () => {
    const config = loadConfig(SAFE_PRODUCTION)
    expect(config.env).toBe('production')
    expect(config.auth.mode).toBe('prod')
    expect(config.host).toBe('0.0.0.0')
    expect(config.auth.trustUserIdHeader).toBe(false)
    expect(config.auth.allowRoleHeader).toBe(false)
    expect(config.auth.cookieSecure).toBe(true)
    expect(config.db.migrateOnStart).toBe(false)
    expect(config.logLevel).toBe('info')
  })

  test('a postgres DATABASE_URL selects the pg dialect', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/council' })
    expect(config.db.dialect).toBe('pg')
    expect(config.db.url).toBe('postgres://u@db:5432/council')
  })

  test('values are parsed: lists, booleans, role maps, numbers', () => {
    const config = loadConfig({
      PORT: '8080',
      ADMIN_EMAILS: ' Boss@Example.com , second@example.com ,',
      DISABLE_UPLOADS: 'yes',
      DISABLE_WEB_SEARCH: '1',
      JWT_ROLE_MAP: 'Council.Admin=admin, Council.Audit = auditor',
      QUESTION_MAX_CHARS: '120',
      AGENT_ROLE_ALLOWLIST: 'ROOT,OPS',
    })
    expect(config.port).toBe(8080)
    expect(config.publicUrl).toBe('http://localhost:8080')
    expect(config.auth.adminEmails).toEqual(['boss@example.com', 'second@example.com'])
    expect(config.features).toEqual({ disableUploads: true, disableWebSearch: true })
    expect(config.auth.roleClaimMap).toEqual({ 'Council.Admin': 'admin', 'Council.Audit': 'auditor' })
    expect(config.limits.questionMaxChars).toBe(120)
    expect(config.agentRoleAllowlist).toEqual(['ROOT', 'OPS'])
  })

  test('an empty variable counts as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(3000)
    expect(loadConfig({ APP_ENV: '' }).env).toBe('development')
  })
})

describe('retention and backups', () => {
  test('defaults: sessions and documents kept, job logs 90 days, audit 365, hourly passes; backups under DATA_DIR, seven kept', () => {
    const config = loadConfig({ APP_ENV: 'test', DATA_DIR: '/srv/council' })
    expect(config.retention).toEqual({ sessionDays: 0, documentDays: 0, jobLogDays: 90, auditDays: 365, intervalMs: 3_600_000, batchSize: 500 })
    expect(config.backup).toEqual({ dir: '/srv/council/backups', keep: 7, s3Copy: false })
  })

  test('0 keeps (a period) or schedules nothing (the interval); BACKUP_DIR is resolved', () => {
    const config = loadConfig({ APP_ENV: 'test', SESSION_RETENTION_DAYS: '30', AUDIT_RETENTION_DAYS: '0', RETENTION_INTERVAL_MS: '0', BACKUP_DIR: 'relative/backups', BACKUP_S3_COPY: 'true' })
    expect(config.retention).toMatchObject({ sessionDays: 30, auditDays: 0, intervalMs: 0 })
    expect(config.backup.dir.startsWith('/')).toBe(true)
    expect(config.backup.s3Copy).toBe(true)
  })
})

describe('operations: /readyz thresholds, staleness, status samples, Sentry', () => {
  test('defaults: worker 15 s / 60 s, backlog 60 s / 5 min, checks every 15 s, a probe a minute, Sentry off', () => {
    const { operations } = loadConfig({ APP_ENV: 'test' })
    expect(operations).toEqual({
      readyz: { timeoutMs: 2000, slowMs: 1000, worker: { degradedMs: 15_000, failMs: 60_000 }, backlog: { degradedMs: 60_000, failMs: 300_000 } },
      heartbeatMs: 5000,
      stalenessCheckMs: 15_000,
      statusSampleMs: 60_000,
      statusSampleDays: 2,
      sentry: null,
    })
  })

  test('SENTRY_DSN turns Sentry on with the app environment; 0 turns the staleness check and the probes off', () => {
    const { operations } = loadConfig({ APP_ENV: 'test', SENTRY_DSN: 'https://key@o1.ingest.sentry.io/2', SENTRY_SAMPLE_RATE: '0.5', STALENESS_CHECK_MS: '0', STATUS_SAMPLE_MS: '0' })
    expect(operations.sentry).toEqual({ dsn: 'https://key@o1.ingest.sentry.io/2', environment: 'test', sampleRate: 0.5 })
    expect(operations).toMatchObject({ stalenessCheckMs: 0, statusSampleMs: 0 })
  })

  test.each([
    ['READYZ_WORKER_FAIL_MS', { READYZ_WORKER_DEGRADED_MS: '20000', READYZ_WORKER_FAIL_MS: '10000' }, 'must be at least READYZ_WORKER_DEGRADED_MS'],
    ['READYZ_BACKLOG_FAIL_MS', { READYZ_BACKLOG_FAIL_MS: '1000' }, 'must be at least READYZ_BACKLOG_DEGRADED_MS'],
    ['READYZ_WORKER_DEGRADED_MS', { WORKER_HEARTBEAT_MS: '20000' }, 'must be more than WORKER_HEARTBEAT_MS'],
    ['SENTRY_SAMPLE_RATE', { SENTRY_DSN: 'https://key@o1.ingest.sentry.io/2', SENTRY_SAMPLE_RATE: '2' }, 'from 0 to 1'],
    ['SENTRY_DSN', { SENTRY_DSN: 'not a dsn' }, ''],
    ['STATUS_SAMPLE_MS', { STATUS_SAMPLE_MS: '5' }, ''],
  ])('%s is refused, named', (name, env, says) => {
    expect(() => loadConfig({ APP_ENV: 'test', ...env })).toThrow(name)
    if (says) expect(() => loadConfig({ APP_ENV: 'test', ...env })).toThrow(says)
  })
})

describe('loadConfig rejects bad values, naming the variable', () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80.5' }],
    ['APP_ENV', { APP_ENV: 'staging' }],
    ['JOBS_BACKEND', { JOBS_BACKEND: 'kafka' }],
    ['QUOTA_BACKEND', { QUOTA_BACKEND: 'memcached' }],
    ['STORAGE_BACKEND', { STORAGE_BACKEND: 'ftp' }],
    ['LLM_PROVIDER', { LLM_PROVIDER: 'magic' }],
    ['AUTH_MODE', { AUTH_MODE: 'none' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/council' }],
    ['SESSION_SECRET', { SESSION_SECRET: 'short' }],
    ['JWT_SECRET', { JWT_SECRET: 'too-short-for-hs256' }],
    ['JWT_JWKS_URL', { JWT_JWKS_URL: 'not a url' }],
    ['JWT_ROLE_MAP', { JWT_ROLE_MAP: 'Council.Admin' }],
    ['DISABLE_UPLOADS', { DISABLE_UPLOADS: 'maybe' }],
    ['QUESTION_MAX_CHARS', { QUESTION_MAX_CHARS: '5' }],
    ['QUESTION_MAX_CHARS', { QUESTION_MAX_CHARS: 'lots' }],
    ['DB_POOL_SIZE', { DB_POOL_SIZE: '0' }],
    ['DATABASE_LISTEN_URL', { DATABASE_LISTEN_URL: 'pgbouncer:6432' }],
    ['SESSION_LIST_CACHE_MB', { SESSION_LIST_CACHE_MB: '-1' }],
    ['SESSION_LIST_CACHE_MB', { SESSION_LIST_CACHE_MB: 'plenty' }],
    ['REDIS_URL', { REDIS_URL: 'redis host 6379' }],
    ['LLM_PRICES', { LLM_PRICES: '{not json' }],
    ['LLM_PRICES', { LLM_PRICES: '{"gpt-x":{"input":"cheap"}}' }],
    ['READYZ_TIMEOUT_MS', { READYZ_TIMEOUT_MS: '1' }],
    ['SESSION_RETENTION_DAYS', { SESSION_RETENTION_DAYS: '-1' }],
    ['DOCUMENT_RETENTION_DAYS', { DOCUMENT_RETENTION_DAYS: '7.5' }],
    ['JOB_LOG_RETENTION_DAYS', { JOB_LOG_RETENTION_DAYS: 'forever' }],
    ['AUDIT_RETENTION_DAYS', { AUDIT_RETENTION_DAYS: '100000' }],
    ['RETENTION_INTERVAL_MS', { RETENTION_INTERVAL_MS: '500' }],
    ['RETENTION_BATCH', { RETENTION_BATCH: '0' }],
    ['BACKUP_KEEP', { BACKUP_KEEP: '0' }],
    ['BACKUP_S3_COPY', { BACKUP_S3_COPY: 'sometimes' }],
  ]
  for (const [variable, env] of cases) {
    test(`${Object.entries(env)[0]!.join('=')} → ConfigError naming ${variable}`, () => {
      const error = expectRefused(env, variable)
      expect(error.name).toBe('ConfigError')
      // The message says what was wrong, not just which variable.
      expect(error.message.length).toBeGreaterThan(variable.length + 10)
    })
  }

  test('the offending value is quoted in the message', () => {
    expect(configErrorOf({ JOBS_BACKEND: 'kafka' }).message).toContain('kafka')
    expect(configErrorOf({ PORT: 'abc' }).message).toContain('abc')
  })

  test('a whitespace-only PORT is not silently turned into port 0 (a random port)', () => {
    // Either treated as unset (3000) or refused naming PORT; never 0.
    let port: number | null = null
    try {
      port = loadConfig({ PORT: '   ' }).port
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).variable).toBe('PORT')
      return
    }
    expect(port).toBe(3000)
  })

  test('combinations: prod auth needs an identity source', () => {
    expectRefused({ AUTH_MODE: 'prod' }, 'AUTH_MODE')
    expect(loadConfig({ AUTH_MODE: 'prod', TRUSTED_PROXY_IPS: '10.0.0.1' }).auth.trustedProxyIps).toEqual(['10.0.0.1'])
  })

  test('combinations: s3 storage needs endpoint and bucket; openai needs a key', () => {
    expectRefused({ STORAGE_BACKEND: 's3', S3_ENDPOINT: 'http://minio:9000' }, 'STORAGE_BACKEND')
    expectRefused({ LLM_PROVIDER: 'openai' }, 'OPENAI_API_KEY')
    expect(loadConfig({ LLM_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test' }).llm.provider).toBe('openai')
  })
})

describe('production refuses unsafe settings', () => {
  test('the safe baseline loads', () => {
    expect(() => loadConfig(SAFE_PRODUCTION)).not.toThrow()
  })

  test('AUTH_MODE=dev', () => {
    const error = expectRefused({ ...SAFE_PRODUCTION, AUTH_MODE: 'dev' }, 'AUTH_MODE')
    expect(error.message).toMatch(/production/i)
  })

  test('TRUST_X_USER_ID=true', () => {
    const error = expectRefused({ ...SAFE_PRODUCTION, TRUST_X_USER_ID: 'true' }, 'TRUST_X_USER_ID')
    expect(error.message).toMatch(/X-User-Id/)
  })

  test('the default SESSION_SECRET, left unset', () => {
    const { SESSION_SECRET: _unset, ...env } = SAFE_PRODUCTION
    expectRefused(env, 'SESSION_SECRET')
  })

  test('the default SESSION_SECRET, set explicitly', () => {
    expectRefused({ ...SAFE_PRODUCTION, SESSION_SECRET: 'dev-insecure-session-secret-change-me' }, 'SESSION_SECRET')
  })

  test('insecure cookies', () => {
    expectRefused({ ...SAFE_PRODUCTION, COOKIE_SECURE: 'false' }, 'COOKIE_SECURE')
  })

  test('prod auth without any identity source', () => {
    const { JWT_SECRET: _unset, ...env } = SAFE_PRODUCTION
    expectRefused(env, 'AUTH_MODE')
  })

  test('the same unsafe settings are accepted outside production', () => {
    expect(loadConfig({ APP_ENV: 'development', AUTH_MODE: 'dev', TRUST_X_USER_ID: 'true' }).auth.mode).toBe('dev')
  })
})

describe('storage settings', () => {
  const S3 = {
    STORAGE_BACKEND: 's3',
    S3_ENDPOINT: 'http://127.0.0.1:9000',
    S3_BUCKET: 'council-docs',
    S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    S3_SECRET_ACCESS_KEY: 'secret-example',
  }

  test('defaults: local storage under DATA_DIR/objects; S3 path-style in us-east-1', () => {
    const { storage } = loadConfig({ DATA_DIR: '/tmp/council-storage' })
    expect(storage).toEqual({
      backend: 'local',
      localDir: '/tmp/council-storage/objects',
      s3: { endpoint: null, bucket: null, region: 'us-east-1', accessKeyId: null, secretAccessKey: null, forcePathStyle: true },
    })
  })

  test('the S3 variables are read', () => {
    const { storage } = loadConfig({ ...S3, S3_REGION: 'eu-central-1', S3_FORCE_PATH_STYLE: 'false' })
    expect(storage.backend).toBe('s3')
    expect(storage.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'council-docs',
      region: 'eu-central-1',
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'secret-example',
      forcePathStyle: false,
    })
  })

  test('bad values name their variable', () => {
    expectRefused({ ...S3, STORAGE_BACKEND: 'gcs' }, 'STORAGE_BACKEND')
    expectRefused({ ...S3, S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT')
    expectRefused({ ...S3, S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT')
    expectRefused({ ...S3, S3_BUCKET: 'Council_Docs' }, 'S3_BUCKET')
    expectRefused({ ...S3, S3_BUCKET: '../etc' }, 'S3_BUCKET')
    expectRefused({ ...S3, S3_REGION: 'eu central' }, 'S3_REGION')
    expectRefused({ ...S3, S3_FORCE_PATH_STYLE: 'sometimes' }, 'S3_FORCE_PATH_STYLE')
  })

  test('keys come in pairs; s3 needs an endpoint and a bucket, and says which is missing', () => {
    const { S3_SECRET_ACCESS_KEY: _secret, ...withoutSecret } = S3
    expectRefused(withoutSecret, 'S3_SECRET_ACCESS_KEY')
    const { S3_ACCESS_KEY_ID: _id, ...withoutId } = S3
    expectRefused(withoutId, 'S3_ACCESS_KEY_ID')
    const { S3_BUCKET: _bucket, ...withoutBucket } = S3
    expect(expectRefused(withoutBucket, 'STORAGE_BACKEND').message).toContain('S3_BUCKET')
    const { S3_ENDPOINT: _endpoint, ...withoutEndpoint } = S3
    expect(expectRefused(withoutEndpoint, 'STORAGE_BACKEND').message).toContain('S3_ENDPOINT')
    // Outside production, keys may come from the environment Bun's S3 client reads (AWS_ACCESS_KEY_ID, …).
    const { S3_ACCESS_KEY_ID: _a, S3_SECRET_ACCESS_KEY: _b, ...withoutKeys } = S3
    expect(loadConfig(withoutKeys).storage.s3.accessKeyId).toBeNull()
  })

  test('production refuses s3 without keys and accepts it with them', () => {
    const { S3_ACCESS_KEY_ID: _a, S3_SECRET_ACCESS_KEY: _b, ...withoutKeys } = S3
    expect(expectRefused({ ...SAFE_PRODUCTION, ...withoutKeys }, 'S3_ACCESS_KEY_ID').message).toMatch(/production/)
    expect(loadConfig({ ...SAFE_PRODUCTION, ...S3 }).storage.backend).toBe('s3')
  })
})

describe('AUDIT_STREAM_*', () => {
  test('off unless AUDIT_STREAM_URL is set; then the knobs have their defaults', () => {
    expect(loadConfig({ APP_ENV: 'test' }).auditStream).toBeNull()
    expect(loadConfig({ APP_ENV: 'test', AUDIT_STREAM_URL: 'https://siem.example.com/ingest' }).auditStream).toEqual({
      url: 'https://siem.example.com/ingest',
      authorization: null,
      batchSize: 500,
      timeoutMs: 10_000,
      backoffMs: 1000,
      backoffMaxMs: 60_000,
      pollMs: 1000,
      maxLagMs: 300_000,
      shutdownGraceMs: 5000,
    })
    const tuned = loadConfig({
      APP_ENV: 'test',
      AUDIT_STREAM_URL: 'http://10.0.0.5:8088/services/collector/raw',
      AUDIT_STREAM_AUTHORIZATION: 'Splunk 0000-1111',
      AUDIT_STREAM_BATCH: '50',
      AUDIT_STREAM_TIMEOUT_MS: '2000',
    }).auditStream
    expect(tuned).toMatchObject({ authorization: 'Splunk 0000-1111', batchSize: 50, timeoutMs: 2000 })
  })

  test('a bad value stops start-up naming the variable, even while streaming is off', () => {
    for (const [variable, value] of [
      ['AUDIT_STREAM_URL', 'not a url'],
      ['AUDIT_STREAM_URL', 'ftp://siem.example.com/'],
      ['AUDIT_STREAM_BATCH', '0'],
      ['AUDIT_STREAM_BATCH', '10001'],
      ['AUDIT_STREAM_TIMEOUT_MS', 'soon'],
      ['AUDIT_STREAM_BACKOFF_MS', '-5'],
      ['AUDIT_STREAM_POLL_MS', '1.5'],
      ['AUDIT_STREAM_MAX_LAG_MS', '10'],
      ['AUDIT_STREAM_SHUTDOWN_GRACE_MS', 'x'],
      ['AUDIT_STREAM_AUTHORIZATION', 'Bearer a\u0007b'],
    ])
      expectRefused({ APP_ENV: 'test', [variable]: value }, variable)
    const error = expectRefused({ APP_ENV: 'test', AUDIT_STREAM_BACKOFF_MS: '5000', AUDIT_STREAM_BACKOFF_MAX_MS: '1000' }, 'AUDIT_STREAM_BACKOFF_MAX_MS')
    expect(error.message).toContain('AUDIT_STREAM_BACKOFF_MS')
  })
})
