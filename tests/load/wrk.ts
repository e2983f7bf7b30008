/** Runs wrk (one thread, pinned to core 0 with taskset) and reads its report: the load generator of `bench http` and `bench soak`. */

export interface WrkResult {
  rps: number
  p50: number
  p99: number
  non2xx: number
  /** wrk's "Socket errors: …" line, or '' when there were none. */
  errors: string
  /** Responses wrk counted in the measured run. */
  requests: number
}

export interface WrkOptions {
  connections: number
  duration: string
  headers?: Record<string, string>
  /** A Lua script (request/response/delay functions) and the arguments its init(args) gets. */
  script?: string
  scriptArgs?: string[]
}

const toMs = (value: string, unit: string) => Number(value) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1)

/** Parses wrk's `--latency` report. */
export function parseWrk(out: string): WrkResult {
  const pct = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out)
    return match ? Math.round(toMs(match[1]!, match[2]!) * 100) / 100 : NaN
  }
  return {
    rps: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)),
    p50: pct('50'),
    p99: pct('99'),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    errors: /Socket errors:.*/.exec(out)?.[0] ?? '',
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
  }
}

/** One wrk run; resolves to its report (the raw text too, for a script's own summary lines). */
export async function wrk(target: string, { connections, duration, headers = {}, script, scriptArgs = [] }: WrkOptions) {
  const args = ['taskset', '-c', '0', 'wrk', '-t1', `-c${connections}`, `-d${duration}`, '--latency', '--timeout', '10s']
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`)
  if (script) args.push('-s', script)
  args.push(target)
  if (scriptArgs.length > 0) args.push('--', ...scriptArgs)
  const proc = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
  const [text, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  if ((await proc.exited) !== 0) throw new Error(`wrk failed: ${stderr || text}`)
  return { ...parseWrk(text), text }
}

/** One line of a report: name, req/s, p50, p99 and any non-2xx or socket errors. */
export const reportRow = (name: string, r: WrkResult) =>
  `${name.padEnd(48)} ${String(r.rps).padStart(8)} req/s   p50 ${String(r.p50).padStart(6)} ms   p99 ${String(r.p99).padStart(6)} ms` +
  `${r.non2xx ? `   non-2xx ${r.non2xx}` : ''}${r.errors ? `   ${r.errors}` : ''}`
