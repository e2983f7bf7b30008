/**
 * Starts the real server as a subprocess (`bun run src/server.ts`), the way an
 * operator would, for end-to-end tests: a free port, a throwaway DATA_DIR, and
 * APP_ENV=development so the dev login is on. Nothing is shared with the test
 * process except HTTP, so the tests exercise exactly what ships.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Subprocess } from 'bun'

const ROOT = resolve(import.meta.dir, '../..')
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
/** The server's output is kept (bounded) so a failed start can say why. */
const OUTPUT_LIMIT = 200_000

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash) */
  url: string
  port: number
  /** The server process (for /proc/<pid>/status in benchmarks). */
  pid: number
  dataDir: string
  /** Everything the server printed so far (stdout and stderr, interleaved as read). */
  output(): string
  /** SIGTERM, wait for a clean exit (SIGKILL after a timeout), remove DATA_DIR. Resolves to the exit code. */
  stop(): Promise<number | null>
}

export interface StartServerOptions {
  /** Extra environment for the server; wins over the defaults. */
  env?: Record<string, string>
  /** Echo the server's output to this process's stderr as it arrives. */
  echo?: boolean
  /** Flags for bun before `run` (a benchmark profiling the server: --cpu-prof). */
  bunFlags?: string[]
}

/** Asks the OS for a port nobody listens on. Another process could take it before the server binds; start() retries. */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

/** Settings that would point the server somewhere other than its embedded defaults. */
const INHERITED_BUT_UNWANTED = ['DATABASE_URL', 'TEST_DATABASE_URL', 'LOG_FILE', 'PUBLIC_URL', 'AUTH_MODE', 'TRUST_X_USER_ID']

function serverEnv(port: number, dataDir: string, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value
  for (const name of INHERITED_BUT_UNWANTED) delete env[name]
  return {
    ...env,
    // The test preload sets APP_ENV=test for in-process suites; the real server runs as in development.
    APP_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...extra,
  }
}

async function drain(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder()
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    append(decoder.decode(value, { stream: true }))
  }
}

async function waitHealthy(url: string, proc: Subprocess, deadline: number): Promise<'ok' | 'exited' | 'timeout'> {
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) return 'exited'
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return 'ok'
    } catch {
      // not listening yet
    }
    await Bun.sleep(100)
  }
  return 'timeout'
}

async function stopProcess(proc: Subprocess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
  proc.kill('SIGTERM')
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(STOP_TIMEOUT_MS).then(() => false)])
  if (!exited) {
    proc.kill('SIGKILL')
    await proc.exited
  }
  return proc.exitCode
}

/**
 * @example
 * const server = await startServer()
 * const res = await fetch(`${server.url}/healthz`)
 * await server.stop()
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'council-e2e-'))
  let lastError = ''
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    let output = ''
    const append = (text: string) => {
      if (options.echo) process.stderr.write(text)
      output = (output + text).slice(-OUTPUT_LIMIT)
    }
    // SERVER_BUN_FLAGS (e.g. --cpu-prof-md --cpu-prof-dir=/tmp/prof) lets a benchmark profile the server.
    const flags = [...(options.bunFlags ?? []), ...(process.env.SERVER_BUN_FLAGS?.split(' ').filter(Boolean) ?? [])]
    const proc = Bun.spawn(['bun', ...flags, 'run', 'src/server.ts'], {
      cwd: ROOT,
      env: serverEnv(port, dataDir, options.env ?? {}),
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const drained = Promise.all([drain(proc.stdout, append), drain(proc.stderr, append)]).catch(() => undefined)

    const state = await waitHealthy(url, proc, Date.now() + READY_TIMEOUT_MS)
    if (state === 'ok') {
      let stopped: Promise<number | null> | null = null
      return {
        url,
        port,
        pid: proc.pid,
        dataDir,
        output: () => output,
        stop() {
          stopped ??= (async () => {
            const code = await stopProcess(proc)
            await drained
            rmSync(dataDir, { recursive: true, force: true })
            return code
          })()
          return stopped
        },
      }
    }
    await stopProcess(proc)
    await drained
    lastError = `server ${state === 'exited' ? `exited with code ${proc.exitCode}` : `did not answer /healthz within ${READY_TIMEOUT_MS} ms`} (port ${port}, attempt ${attempt}):\n${output}`
    // Only a lost race for the port is worth another try.
    if (!/EADDRINUSE|address already in use|port .* in use/i.test(output)) break
  }
  rmSync(dataDir, { recursive: true, force: true })
  throw new Error(`startServer: ${lastError}`)
}
