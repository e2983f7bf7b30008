/**
 * JSON-lines logger shared by the server and the worker. Fields follow SPEC §5:
 * ts, level, msg, request_id, user, session_id, job_id, stage, duration_ms.
 * Secrets and document text never go in; `user` is hashed in production.
 */
import { mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'

type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/**
 * Field names whose values are never written, whatever the caller passes. The
 * name must end with the word, so `tokens_in` (a count) is kept and `api_token` is not.
 */
const SECRET_FIELD = /(pass(word)?|secret|token|authorization|cookie|api[_-]?key|proof|signature)$/i

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

export interface LoggerOptions {
  level: LogLevel
  file?: string | null
  hashUsers?: boolean
  /** Where lines go besides the file; defaults to stdout. Tests pass a collector. */
  sink?: (line: string) => void
}

export const hashUser = (user: string): string =>
  new Bun.CryptoHasher('sha256').update(user).digest('hex').slice(0, 16)

/**
 * Whether a field name is secret, remembered per name: a log line's names come
 * from a small fixed set, and the regex on each of them was a measurable part
 * of a request's cost. Bounded, so arbitrary names (nested metadata) cannot grow it.
 */
const secretNames = new Map<string, boolean>()
const isSecretField = (key: string): boolean => {
  let secret = secretNames.get(key)
  if (secret === undefined) {
    secret = SECRET_FIELD.test(key)
    if (secretNames.size < 10_000) secretNames.set(key, secret)
  }
  return secret
}

/** Redacts secret-named fields at any depth (objects and arrays, up to 6 levels). */
export function redact(fields: LogFields, depth = 0): LogFields {
  const out: LogFields = {}
  for (const key in fields) {
    const value = fields[key]
    if (value === undefined) continue
    out[key] = isSecretField(key) ? '[redacted]' : redactValue(value, depth + 1)
  }
  return out
}

function redactValue(value: unknown, depth: number): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1))
  if (value instanceof Date || value instanceof Error) return value
  return redact(value as LogFields, depth)
}

/**
 * @example
 * const log = createLogger({ level: 'info' })
 * log.child({ job_id }).info('stage finished', { stage: 'draft', duration_ms: 12 })
 */
export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const threshold = LEVELS[options.level]
  const sink = options.sink ?? stdoutSink
  const file = options.file ? fileSink(options.file) : null

  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (LEVELS[level] < threshold) return
    const record: LogFields = { ts: new Date().toISOString(), level, msg, ...redact({ ...base, ...fields }) }
    if (options.hashUsers && typeof record.user === 'string') record.user = hashUser(record.user)
    const line = `${JSON.stringify(record)}\n`
    sink(line)
    file?.(line)
  }

  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  }
}

/**
 * Standard output, one write per turn of the event loop: a busy server logs a
 * line per request, and a write call per line cost ~5% of its CPU. Whatever is
 * pending is written before the process exits.
 */
let pendingStdout = ''
let stdoutScheduled = false
/**
 * Bun's native writer on fd 1, not process.stdout: the Node stream's
 * buffered-write path was 17–25 % of a busy server's CPU when stdout is a
 * pipe (profile of `bun run bench http`, the list spread over 1,000 users).
 * It queues what a full pipe cannot take yet, in native memory.
 */
let stdoutWriter: ReturnType<typeof Bun.stdout.writer> | null = null
const flushStdout = () => {
  stdoutScheduled = false
  if (pendingStdout === '') return
  const out = pendingStdout
  pendingStdout = ''
  try {
    stdoutWriter ??= Bun.stdout.writer({ highWaterMark: 64 * 1024 })
    stdoutWriter.write(out)
    stdoutWriter.flush()
  } catch {
    process.stdout.write(out)
  }
}
process.on('exit', () => {
  flushStdout()
  stdoutWriter?.flush()
})
const stdoutSink = (line: string) => {
  pendingStdout += line
  if (!stdoutScheduled) {
    stdoutScheduled = true
    setImmediate(flushStdout)
  }
}

const sinks = new Map<string, (line: string) => void>()

/**
 * One buffered writer per file, shared by every logger of the process; flushed
 * each second and at exit, so a request never waits on the disk.
 */
function fileSink(path: string): (line: string) => void {
  const existing = sinks.get(path)
  if (existing) return existing
  mkdirSync(dirname(path), { recursive: true })
  // Opened for append: Bun.file(path).writer() would truncate the existing log.
  const writer = Bun.file(openSync(path, 'a')).writer({ highWaterMark: 64 * 1024 })
  const flush = () => {
    try {
      writer.flush()
    } catch {
      // A full or read-only disk must not take requests down; stdout still has the line.
    }
  }
  setInterval(flush, 1000).unref()
  process.on('beforeExit', flush)
  const write = (line: string) => {
    try {
      writer.write(line)
    } catch {
      // As above: the file is a copy, stdout is the source of truth.
    }
  }
  sinks.set(path, write)
  return write
}
