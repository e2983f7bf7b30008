/** Reading a server-sent event stream in tests: events as they arrive, comments (heartbeats) counted, and whether it ended. */
export interface SseEvent {
  id: string | null
  event: string
  data: any
}

export interface SseReader {
  events: SseEvent[]
  comments: number
  /** True once the server closed the stream. */
  ended: boolean
  /** Waits until `until(events)` holds or the stream ends; fails after timeoutMs. */
  waitFor(until: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<SseEvent[]>
  /** Waits for the end of the stream. */
  done(timeoutMs?: number): Promise<SseEvent[]>
  /** Drops the connection, as a client that loses its network does. */
  drop(): Promise<void>
}

/**
 * @example
 * const stream = readSse(await fetch(url, { signal }), controller)
 * await stream.done()
 */
export function readSse(response: Response, controller?: AbortController): SseReader {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  const state: SseReader = {
    events: [],
    comments: 0,
    ended: false,
    async waitFor(until, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (!until(state.events) && !state.ended) {
        if (Date.now() > deadline) throw new Error(`stream: condition not met in ${timeoutMs} ms; got ${JSON.stringify(state.events.map((e) => e.event))}`)
        await Bun.sleep(5)
      }
      return state.events
    },
    async done(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      while (!state.ended) {
        if (Date.now() > deadline) throw new Error(`stream did not end in ${timeoutMs} ms; got ${JSON.stringify(state.events.map((e) => e.event))}`)
        await Bun.sleep(5)
      }
      return state.events
    },
    async drop() {
      controller?.abort()
      await reader.cancel().catch(() => undefined)
      state.ended = true
    },
  }
  void (async () => {
    let buffer = ''
    let current: { id: string | null; event: string; data: string[] } = { id: null, event: 'message', data: [] }
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += decoder.decode(value, { stream: true })
        const lines = buffer.split('\n')
        buffer = lines.pop() ?? ''
        for (const line of lines) {
          if (line === '') {
            if (current.data.length > 0) state.events.push({ id: current.id, event: current.event, data: JSON.parse(current.data.join('\n')) })
            current = { id: null, event: 'message', data: [] }
          } else if (line.startsWith(':')) state.comments++
          else if (line.startsWith('id: ')) current.id = line.slice(4)
          else if (line.startsWith('event: ')) current.event = line.slice(7)
          else if (line.startsWith('data: ')) current.data.push(line.slice(6))
        }
      }
    } catch {
      // dropped
    } finally {
      state.ended = true
    }
  })()
  return state
}
