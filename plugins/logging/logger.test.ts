/**
 * The JSON-lines logger (plugins/logging/logger.ts): SPEC §5 fields, level
 * threshold, secrets never written, user hashed in production.
 */
import { describe, expect, test } from 'bun:test'
import { createLogger, hashUser, redact, type LoggerOptions } from './logger'

function capture(options: Partial<LoggerOptions> = {}) {
  const lines: string[] = []
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line), ...options })
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  return { logger, lines, records }
}

const SECRET_VALUE = 'sup3r-s3cret-value'

describe('log lines', () => {
  test('one JSON object per line with ts, level and msg', () => {
    const { logger, lines, records } = capture()
    logger.info('hello', { request_id: 'req-1' })
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('\n')).toBe(true)
    expect(lines[0]!.trim().includes('\n')).toBe(false)
    const [record] = records()
    expect(record!.level).toBe('info')
    expect(record!.msg).toBe('hello')
    expect(record!.request_id).toBe('req-1')
    expect(new Date(record!.ts as string).toISOString()).toBe(record!.ts as string)
  })

  test('the SPEC fields pass through unchanged', () => {
    const { logger, records } = capture()
    const fields = {
      request_id: 'req-1',
      user: 'alice@example.com',
      session_id: 's-1',
      job_id: 'j-1',
      stage: 'draft',
      duration_ms: 12.5,
      status: 201,
      route: '/api/v1/sessions',
    }
    logger.info('stage finished', fields)
    expect(records()[0]).toMatchObject(fields)
  })

  test('messages below the level are dropped', () => {
    const { logger, records } = capture({ level: 'warn' })
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    expect(records().map((record) => record.level)).toEqual(['warn', 'error'])
  })

  test('undefined fields are omitted', () => {
    const { logger, lines } = capture()
    logger.info('x', { user: undefined, job_id: 'j' })
    expect(lines[0]).not.toContain('"user"')
  })

  test('child loggers carry their fields into every line; call fields win', () => {
    const { logger, records } = capture()
    const child = logger.child({ job_id: 'j-1', stage: 'draft' })
    child.info('a')
    child.info('b', { stage: 'review' })
    expect(records()).toMatchObject([
      { msg: 'a', job_id: 'j-1', stage: 'draft' },
      { msg: 'b', job_id: 'j-1', stage: 'review' },
    ])
  })
})

describe('redaction', () => {
  const secretKeys = [
    'password',
    'pass',
    'db_password',
    'secret',
    'SESSION_SECRET',
    'client_secret',
    'token',
    'access_token',
    'refreshToken',
    'authorization',
    'Authorization',
    'cookie',
    'set-cookie',
    'api_key',
    'apiKey',
    'api-key',
    'OPENAI_API_KEY',
    'proof',
    'dev_proof',
    'signature',
    'x-signature',
  ]

  for (const key of secretKeys) {
    test(`"${key}" is never written`, () => {
      const { logger, lines, records } = capture()
      logger.info('x', { [key]: SECRET_VALUE })
      expect(lines.join('')).not.toContain(SECRET_VALUE)
      expect(records()[0]![key]).toBe('[redacted]')
    })
  }

  test('child-logger base fields are redacted too', () => {
    const { logger, lines } = capture()
    logger.child({ api_key: SECRET_VALUE }).warn('x')
    expect(lines.join('')).not.toContain(SECRET_VALUE)
  })

  test('secret-looking keys nested inside an object are redacted too', () => {
    const { logger, lines } = capture()
    logger.error('upstream call failed', {
      request: { url: 'https://llm.example/v1', headers: { authorization: `Bearer ${SECRET_VALUE}` } },
    })
    expect(lines.join('')).not.toContain(SECRET_VALUE)
  })

  test('redact leaves ordinary fields alone and does not mutate its input', () => {
    const input = { request_id: 'r', password: SECRET_VALUE }
    const out = redact(input)
    expect(out).toEqual({ request_id: 'r', password: '[redacted]' })
    expect(input.password).toBe(SECRET_VALUE)
  })
})

describe('user hashing', () => {
  test('hashUser is a stable 16-hex digest that does not contain the email', () => {
    const hashed = hashUser('alice@example.com')
    expect(hashed).toMatch(/^[0-9a-f]{16}$/)
    expect(hashUser('alice@example.com')).toBe(hashed)
    expect(hashUser('bob@example.com')).not.toBe(hashed)
    expect(hashed).not.toContain('alice')
  })

  test('with hashUsers (production) the user field is hashed, consistently, so lines still correlate', () => {
    const { logger, lines, records } = capture({ hashUsers: true })
    logger.info('a', { user: 'alice@example.com' })
    logger.child({ user: 'alice@example.com' }).info('b')
    expect(lines.join('')).not.toContain('alice@example.com')
    const [a, b] = records()
    expect(a!.user).toBe(hashUser('alice@example.com'))
    expect(b!.user).toBe(a!.user)
  })

  test('without hashUsers (development, test) the user is written as is', () => {
    const { logger, records } = capture({ hashUsers: false })
    logger.info('a', { user: 'alice@example.com' })
    expect(records()[0]!.user).toBe('alice@example.com')
  })
})

describe('standard output', () => {
  test('lines written in one turn are batched, yet none is lost and the order holds when the process exits straight after logging', async () => {
    const script = `
      import { createLogger } from '${import.meta.dir}/logger'
      const log = createLogger({ level: 'info' })
      for (let i = 0; i < 500; i++) log.info('line', { n: i })
      process.exit(0)`
    const proc = Bun.spawn(['bun', '-e', script], { stdout: 'pipe', stderr: 'pipe' })
    const out = await new Response(proc.stdout).text()
    expect(await proc.exited).toBe(0)
    const lines = out.trim().split('\n').map((line) => JSON.parse(line))
    expect(lines).toHaveLength(500)
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 500 }, (_, i) => i))
  })
})
