/**
 * How the fuzz walk (tests/integration/fuzz.test.ts) gets an answer and judges
 * it: never 5xx; an error in the contract's shape (SPEC §4:
 * {"error":{code,message,request_id}}, request_id = X-Request-Id) or, for a
 * browser, an HTML error page; no stack, server path or engine internals in
 * it; a redirect stays on this site; every answer carries X-Request-Id. Also
 * a raw-socket exchange, for what only a real server shows.
 */
import { connect } from 'node:net'
import type { TestApp } from './app'

/** Engine internals, stacks and server paths that must never reach a client. */
const LEAK = /\[native code\]|\n\s+at \S+ \(|node_modules|\/work\/|\bat async\b|TypeError:|ReferenceError:|SyntaxError:|drizzle|SQLITE_|sqlstate/i

/** What is wrong with this answer, or null. */
export function problemOf(res: Response, text: string, route = ''): string | null {
  const requestId = res.headers.get('x-request-id')
  // /readyz answers 503 with its own body when a component fails (SPEC §4): a slow disk under the walk's load does that.
  if (route === 'GET /readyz' && res.status === 503 && /^\{"status":"fail"/.test(text)) return null
  if (res.status >= 500) return `answered ${res.status}: ${text.slice(0, 300)}`
  if (!requestId) return `no X-Request-Id (status ${res.status})`
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location') ?? res.headers.get('hx-redirect') ?? ''
    if (location && !/^\/(?![/\\\t\n\r])/.test(location.trim()) && !location.startsWith('http://localhost/')) return `redirects off-site: Location ${JSON.stringify(location)}`
  }
  const hxRedirect = res.headers.get('hx-redirect')
  if (hxRedirect && !/^\/(?![/\\\t\n\r])/.test(hxRedirect.trim())) return `redirects off-site: HX-Redirect ${JSON.stringify(hxRedirect)}`
  if (res.status < 400) return null
  if (res.status === 429 && !res.headers.get('retry-after')) return '429 without Retry-After'
  const type = res.headers.get('content-type') ?? ''
  if (type.includes('application/json')) {
    let body: any
    try {
      body = JSON.parse(text)
    } catch {
      return `error body is not JSON: ${text.slice(0, 200)}`
    }
    const error = body?.error
    const shaped =
      body && typeof body === 'object' && Object.keys(body).join() === 'error' && typeof error?.code === 'string' && /^[a-z][a-z0-9_]*$/.test(error.code) && typeof error.message === 'string' && error.message.length > 5 && error.request_id === requestId
    if (!shaped) return `error not in the contract's shape: ${text.slice(0, 300)}`
    if (LEAK.test(error.message) || LEAK.test(JSON.stringify(error.details ?? ''))) return `error leaks internals: ${text.slice(0, 300)}`
    return null
  }
  // A browser's error: an error page (naming the request id) or a form refused in place, as the app renders them.
  if (type.includes('text/html')) {
    if (!/^\s*</.test(text)) return `HTML error that is not markup (status ${res.status}): ${text.slice(0, 200)}`
    if (LEAK.test(text)) return `HTML error leaks internals: ${text.slice(0, 300)}`
    return null
  }
  return `error of content type ${JSON.stringify(type)}: ${text.slice(0, 200)}`
}

const ANSWER_TIMEOUT_MS = 15_000

export async function answer(t: TestApp, request: Request): Promise<{ res: Response; text: string }> {
  let timer: Timer | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS)
  })
  try {
    const res = await Promise.race([t.app.handle(request), timeout])
    // An event stream that opened is an answer; it is not read to its end.
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel()
      return { res, text: '' }
    }
    return { res, text: await Promise.race([res.text(), timeout]) }
  } finally {
    clearTimeout(timer)
  }
}

// ----- through a real server ------------------------------------------------------------------

interface RawAnswer {
  status: number
  headers: Headers
  text: string
}

/** Undoes chunked transfer coding (the body is read whole: the server closes the connection). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at)
    if (lineEnd < 0) break
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
  return Buffer.concat(parts)
}

/** Writes bytes to the server as they are (no client normalises the request line) and reads the answer until the server closes. */
export function exchange(port: number, head: string, body: Buffer | string = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => {
      socket.destroy()
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`))
    })
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'))
      if (body.length > 0) socket.write(body)
    })
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const all = Buffer.concat(chunks)
      const split = all.indexOf('\r\n\r\n')
      const [statusLine = '', ...lines] = all.subarray(0, split < 0 ? all.length : split).toString('latin1').split('\r\n')
      const headers = new Headers()
      for (const line of lines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
      }
      let payload: Buffer = split < 0 ? Buffer.alloc(0) : all.subarray(split + 4)
      if ((headers.get('transfer-encoding') ?? '').includes('chunked')) payload = dechunk(payload)
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, text: payload.toString('utf8') })
    })
  })
}

/** An answer from the HTTP layer itself (no X-Request-Id: the app never saw the request) must still be a plain 4xx. */
export function socketProblem(answer: RawAnswer): string | null {
  if (answer.headers.get('x-request-id')) return problemOf(new Response(answer.text, { status: Math.max(200, answer.status), headers: answer.headers }), answer.text)
  if (answer.status < 400 || answer.status >= 500) return `answered ${answer.status} outside the app: ${answer.text.slice(0, 200)}`
  if (LEAK.test(answer.text)) return `HTTP-layer answer leaks internals: ${answer.text.slice(0, 200)}`
  return null
}
