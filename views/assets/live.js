// The live session page: follows the council's event stream (/sessions/:id/events, server-sent events) and
// updates the page in place — member cards (state, elapsed time, tokens, cost), drafts growing as they are
// written and then shown rendered, who has ranked whom, the synthesis being written — and at the end puts in
// the server-rendered results. EventSource reconnects by itself with Last-Event-ID; if the stream cannot be
// had at all, the section is handed to htmx, which polls it every 2 s instead.
'use strict'
;(() => {
  const STAGES = ['draft', 'review', 'synthesis', 'agent']
  const ON_START = { draft: 'drafting', review: 'reviewing', synthesis: 'writing', agent: 'drafting' }
  const ON_SUCCESS = { draft: 'drafted', review: 'done', synthesis: 'done', agent: 'done' }
  const tokensText = (n) => `${n.toLocaleString('en-US')} tokens`
  const usdText = (v) => `$${v.toFixed(4)}`
  const secondsText = (ms) => (ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`)

  function follow(root) {
    if (root.dataset.following) return
    root.dataset.following = 'true'
    /** agent → stage → { state, startedAt (server ms), duration, tokens, cost, error } */
    const calls = new Map()
    // The smallest (local − server) time seen: the clock offset plus the least delay, for elapsed times.
    let skew = Infinity
    let failures = 0
    let stopped = false
    const source = new EventSource(root.dataset.stream)
    const card = (agent) => root.querySelector(`.member[data-agent="${CSS.escape(agent)}"]`)
    const part = (element, role) => (element ? element.querySelector(`[data-role="${role}"]`) : null)
    const serverNow = () => Date.now() - (Number.isFinite(skew) ? skew : 0)

    function render(agent) {
      const element = card(agent)
      const stages = calls.get(agent)
      if (!element || !stages) return
      let state = element.dataset.state
      let tokens = 0
      let cost = 0
      let elapsed = 0
      let error = ''
      let running = false
      for (const stage of STAGES) {
        const call = stages.get(stage)
        if (!call) continue
        state = call.state
        error = call.error || ''
        tokens += call.tokens
        cost += call.cost
        if (call.duration !== null) elapsed += call.duration
        else if (call.startedAt !== null) {
          elapsed += Math.max(0, serverNow() - call.startedAt)
          running = true
        }
      }
      element.dataset.state = state
      const badge = part(element, 'state')
      badge.textContent = state
      badge.className = `badge state-${state}`
      part(element, 'elapsed').textContent = elapsed > 0 || running ? secondsText(elapsed) : '—'
      part(element, 'tokens').textContent = tokensText(tokens)
      part(element, 'cost').textContent = usdText(cost)
      part(element, 'error').textContent = error
    }

    /** The session's running totals, over every call so far. */
    function totals() {
      const figures = root.querySelector('#session-figures')
      if (!figures) return
      let tokens = 0
      let cost = 0
      for (const stages of calls.values())
        for (const call of stages.values()) {
          tokens += call.tokens
          cost += call.cost
        }
      figures.textContent = `palette ${figures.dataset.palette} · tokens ${tokens} · cost ${usdText(cost)}`
    }

    function stop() {
      stopped = true
      source.close()
      clearInterval(ticker)
    }

    function replace(html) {
      const template = document.createElement('template')
      template.innerHTML = html.trim()
      const next = template.content.firstElementChild
      if (!next || !root.isConnected) return
      root.replaceWith(next)
      window.htmx?.process(next)
      window.councilEnhance?.(next)
    }

    function fallback() {
      if (root.isConnected && root.dataset.poll && window.htmx) window.htmx.ajax('GET', root.dataset.poll, { target: '#progress', swap: 'outerHTML' })
    }

    const on = (type, handle) =>
      source.addEventListener(type, (message) => {
        if (stopped) return
        if (!root.isConnected) return stop()
        failures = 0
        const data = JSON.parse(message.data)
        const at = Date.parse(data.at)
        if (!Number.isNaN(at)) skew = Math.min(skew, Date.now() - at)
        handle(data)
      })

    on('stage', (data) => {
      // The steps the page lists, in order (reading the sources comes first when the session has any).
      const items = [...root.querySelectorAll('#stages li')]
      const index = items.findIndex((item) => item.dataset.stage === data.stage)
      if (index >= 0) items.forEach((item, i) => (item.className = i < index ? 'done' : i === index ? 'current' : ''))
      const line = root.querySelector('#job-stage')
      if (line) line.textContent = `stage ${data.stage}`
    })

    on('progress', (data) => {
      const bar = root.querySelector('#job-progress')
      if (bar && typeof data.progress === 'number') {
        bar.value = data.progress
        bar.textContent = `${data.progress}%`
      }
      const status = root.querySelector('#job-status')
      if (status && data.status) {
        status.textContent = data.status
        status.className = `badge ${data.status}`
      }
      const session = root.querySelector('#session-status')
      if (session && data.status) {
        session.textContent = data.status
        session.className = `badge ${data.status}`
      }
      const line = root.querySelector('#job-stage')
      if (line && data.status === 'queued') line.textContent = data.error ? `retrying after: ${data.error}` : 'waiting for a worker'
    })

    on('member', (data) => {
      const stages = calls.get(data.agent) || new Map()
      calls.set(data.agent, stages)
      const before = stages.get(data.stage)
      const started = data.state === 'started'
      stages.set(data.stage, {
        state: started ? ON_START[data.stage] || 'drafting' : data.state === 'succeeded' ? ON_SUCCESS[data.stage] || 'done' : 'failed',
        startedAt: started ? Date.parse(data.at) : before ? before.startedAt : null,
        duration: started ? null : data.duration_ms ?? 0,
        tokens: data.state === 'succeeded' ? (data.tokens_in || 0) + (data.tokens_out || 0) : 0,
        cost: data.state === 'succeeded' ? data.cost_usd || 0 : 0,
        error: data.state === 'failed' ? data.error : '',
      })
      const element = card(data.agent)
      if (element && data.html && data.stage === 'draft') {
        part(element, 'body').innerHTML = data.html
        element.dataset.landed = 'true'
      }
      if (element && data.html && data.stage === 'review') part(element, 'review').innerHTML = data.html
      if (data.stage === 'synthesis' && started) root.querySelector('#synthesis-live')?.removeAttribute('hidden')
      render(data.agent)
      totals()
    })

    on('delta', (data) => {
      if (data.stage === 'synthesis') {
        const live = root.querySelector('#synthesis-live')
        if (!live) return
        live.removeAttribute('hidden')
        part(live, 'stream').append(data.text)
        return
      }
      if (data.stage !== 'draft' && data.stage !== 'agent') return
      const element = card(data.agent)
      if (!element || element.dataset.landed) return
      const body = part(element, 'body')
      let stream = body.querySelector('pre.stream')
      if (!stream) {
        stream = document.createElement('pre')
        stream.className = 'stream'
        body.replaceChildren(stream)
      }
      stream.append(data.text)
    })

    on('done', (data) => {
      stop()
      if (data.html) replace(data.html)
      else fallback()
    })

    source.addEventListener('open', () => {
      failures = 0
    })
    source.addEventListener('error', () => {
      if (stopped) return
      // CLOSED: the server refused the stream; otherwise EventSource is retrying, and after a few failed tries we poll.
      if (source.readyState === EventSource.CLOSED || ++failures >= 5) {
        stop()
        fallback()
      }
    })

    // Running calls' elapsed times tick; a section htmx has swapped away stops following.
    const ticker = setInterval(() => {
      if (!root.isConnected) return stop()
      for (const [agent, stages] of calls) for (const call of stages.values()) if (call.duration === null) render(agent)
    }, 1000)
  }

  const scan = () => {
    for (const root of document.querySelectorAll('#progress[data-stream]')) follow(root)
  }
  document.addEventListener('DOMContentLoaded', scan)
  document.addEventListener('htmx:after:settle', scan)
})()
