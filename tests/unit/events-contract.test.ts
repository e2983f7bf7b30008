/**
 * The job event logs' one contract, run against every backend: memory, and
 * Redis (the real one at TEST_REDIS_URL, under a prefix of this run's own;
 * these tests fail, not skip, when it is down). Then followJob (resume from a
 * Last-Event-ID without loss or repeats, the end at `done`, idle callbacks)
 * and the publisher (stamps, gathered deltas, order).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createEventPublisher, followJob, type JobEvent, type JobEventLog } from '../../plugins/events'
import { createMemoryEventLog } from '../../plugins/events/memory'
import { createRedisEventLog } from '../../plugins/events/redis'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `test-events-${crypto.randomUUID().slice(0, 8)}`
const LIMITS = { maxEvents: 20, retainMs: 600, idleMs: 60_000 }
const jobId = () => crypto.randomUUID()
const stage = (n: number) => ({ type: 'progress' as const, data: { progress: n } })

/** Collects what a listener hears, and waits until it has heard `n` events. */
function recorder() {
  const heard: JobEvent[] = []
  return {
    heard,
    listener: (event: JobEvent) => heard.push(event),
    async until(n: number, ms = 2000) {
      const deadline = Date.now() + ms
      while (heard.length < n && Date.now() < deadline) await Bun.sleep(5)
      return heard
    },
  }
}

async function drain(iterator: AsyncGenerator<JobEvent>): Promise<JobEvent[]> {
  const events: JobEvent[] = []
  for await (const event of iterator) events.push(event)
  return events
}

/** The contract every JobEventLog keeps. `peer` (shared backends) builds another instance on the same data. */
function eventLogContract(name: string, make: () => JobEventLog, peer?: () => JobEventLog) {
  describe(`${name} event log`, () => {
    let log: JobEventLog
    const opened: JobEventLog[] = []
    const open = (build: () => JobEventLog) => {
      const made = build()
      opened.push(made)
      return made
    }
    beforeAll(() => {
      log = open(make)
    })
    afterAll(async () => {
      for (const each of opened) await each.close()
    })

    test('ids increase within a job and history replays everything, in order, or what came after an id', async () => {
      const job = jobId()
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push(await log.publish(job, stage(i)))
      for (let i = 1; i < ids.length; i++) expect(log.compare(ids[i - 1]!, ids[i]!)).toBeLessThan(0)
      expect(ids.every((id) => log.isId(id))).toBe(true)
      const all = await log.history(job, null)
      expect(all.map((event) => event.id)).toEqual(ids)
      expect(all.map((event) => event.data.progress)).toEqual([0, 1, 2, 3, 4])
      expect(all[0]).toEqual({ id: ids[0]!, type: 'progress', data: { progress: 0 } })
      expect((await log.history(job, ids[1]!)).map((event) => event.id)).toEqual(ids.slice(2))
      expect(await log.history(job, ids[4]!)).toEqual([])
      expect(await log.history(jobId(), null)).toEqual([])
    })

    test('jobs are apart: one job’s events never show in another’s history or subscription', async () => {
      const [a, b] = [jobId(), jobId()]
      const rec = recorder()
      const stop = await log.subscribe(b, rec.listener)
      await log.publish(a, stage(1))
      await log.publish(b, stage(2))
      expect((await rec.until(1)).map((event) => event.data.progress)).toEqual([2])
      await Bun.sleep(30)
      expect(rec.heard).toHaveLength(1)
      expect((await log.history(a, null)).map((event) => event.data.progress)).toEqual([1])
      stop()
    })

    test('a subscriber hears every event published after subscribe resolved, until it stops', async () => {
      const job = jobId()
      const first = recorder()
      const second = recorder()
      const stopFirst = await log.subscribe(job, first.listener)
      const stopSecond = await log.subscribe(job, second.listener)
      const ids = [await log.publish(job, stage(1)), await log.publish(job, stage(2))]
      expect((await first.until(2)).map((event) => event.id)).toEqual(ids)
      expect((await second.until(2)).map((event) => event.id)).toEqual(ids)
      stopFirst()
      await log.publish(job, stage(3))
      await second.until(3)
      await Bun.sleep(30)
      expect(first.heard).toHaveLength(2)
      expect(second.heard).toHaveLength(3)
      stopSecond()
    })

    test('followed: the jobs someone subscribes to right now (on this instance or, shared, on another)', async () => {
      const [watched, alone] = [jobId(), jobId()]
      expect(await log.followed([watched, alone])).toEqual(new Set())
      const stop = await (peer ? open(peer) : log).subscribe(watched, () => undefined)
      expect(await log.followed([watched, alone])).toEqual(new Set([watched]))
      stop()
      const deadline = Date.now() + 2000
      while ((await log.followed([watched])).size > 0 && Date.now() < deadline) await Bun.sleep(5)
      expect(await log.followed([watched, alone])).toEqual(new Set())
      expect(await log.followed([])).toEqual(new Set())
    })

    test('events published in one turn (many jobs at once) are all stored, each job’s in order', async () => {
      const jobs = Array.from({ length: 30 }, () => jobId())
      const ids = await Promise.all(jobs.map((job) => Promise.all([log.publish(job, stage(1)), log.publish(job, stage(2))])))
      for (const [i, job] of jobs.entries()) {
        expect(log.compare(ids[i]![0], ids[i]![1])).toBeLessThan(0)
        expect((await log.history(job, null)).map((event) => [event.id, event.data.progress])).toEqual([[ids[i]![0], 1], [ids[i]![1], 2]])
      }
    })

    test('identifiers that are not this backend’s are refused', () => {
      for (const bad of ['', 'abc', '1-2-3', '-1', '1e5', ' 12', '9'.repeat(40)]) expect(log.isId(bad)).toBe(false)
    })

    test(`a log keeps at most maxEvents (${LIMITS.maxEvents}), dropping the oldest`, async () => {
      const job = jobId()
      for (let i = 0; i < LIMITS.maxEvents + 7; i++) await log.publish(job, stage(i))
      const kept = await log.history(job, null)
      expect(kept).toHaveLength(LIMITS.maxEvents)
      expect(kept[0]!.data.progress).toBe(7)
      expect(kept.at(-1)!.data.progress).toBe(LIMITS.maxEvents + 6)
    })

    test('a finished job’s log is kept for retainMs after done, then dropped', async () => {
      const job = jobId()
      await log.publish(job, stage(1))
      await log.publish(job, { type: 'done', data: { status: 'succeeded' } })
      expect(await log.history(job, null)).toHaveLength(2)
      await Bun.sleep(LIMITS.retainMs + 1200)
      expect(await log.history(job, null)).toEqual([])
    })

    if (peer)
      test('another instance on the same store replays the history and hears live events published here', async () => {
        const other = open(peer)
        const job = jobId()
        const before = await log.publish(job, stage(1))
        const rec = recorder()
        const stop = await other.subscribe(job, rec.listener)
        const after = await log.publish(job, stage(2))
        expect((await rec.until(1)).map((event) => event.id)).toEqual([after])
        expect((await other.history(job, null)).map((event) => event.id)).toEqual([before, after])
        stop()
      })

    describe('followJob', () => {
      test('from the start: history then live, ending after done', async () => {
        const job = jobId()
        const ids = [await log.publish(job, stage(1)), await log.publish(job, stage(2))]
        const controller = new AbortController()
        const following = drain(followJob(log, job, null, { signal: controller.signal }))
        await Bun.sleep(50)
        ids.push(await log.publish(job, stage(3)))
        ids.push(await log.publish(job, { type: 'done', data: { status: 'succeeded' } }))
        await log.publish(job, stage(99)) // after done: never delivered
        expect((await following).map((event) => event.id)).toEqual(ids)
      })

      test('resuming after an id gives exactly the events after it, also while events keep coming', async () => {
        const job = jobId()
        const ids: string[] = []
        for (let i = 0; i < 6; i++) ids.push(await log.publish(job, stage(i)))
        const controller = new AbortController()
        const following = drain(followJob(log, job, ids[2]!, { signal: controller.signal }))
        // Published while the follower reads history: each must arrive once.
        const more = await Promise.all([log.publish(job, stage(6)), log.publish(job, stage(7))])
        const done = await log.publish(job, { type: 'done', data: {} })
        const got = (await following).map((event) => event.id)
        expect(got).toEqual([...ids.slice(3), ...more.sort(log.compare), done])
        expect(new Set(got).size).toBe(got.length)
      })

      test('the idle callback runs when nothing arrives for idleMs; abort ends the follow', async () => {
        const job = jobId()
        const controller = new AbortController()
        let idles = 0
        const following = drain(followJob(log, job, null, { signal: controller.signal, idleMs: 40, idle: () => void idles++ }))
        await Bun.sleep(200)
        controller.abort()
        expect(await following).toEqual([])
        expect(idles).toBeGreaterThanOrEqual(2)
      })
    })
  })
}

eventLogContract('memory', () => createMemoryEventLog(LIMITS))
eventLogContract(
  'redis',
  () => createRedisEventLog({ url: REDIS, prefix, ...LIMITS }),
  () => createRedisEventLog({ url: REDIS, prefix, ...LIMITS }),
)

describe('memory event log: ids after a restart', () => {
  test('a new log (a restarted server) hands out ids above the old ones, so a resume loses nothing', async () => {
    const before = createMemoryEventLog(LIMITS)
    const old = await before.publish('job', stage(1))
    await before.close()
    await Bun.sleep(2)
    const after = createMemoryEventLog(LIMITS)
    const fresh = await after.publish('job', stage(2))
    expect(after.compare(fresh, old)).toBeGreaterThan(0)
    expect((await after.history('job', old)).map((event) => event.id)).toEqual([fresh])
    await after.close()
  })
})

describe('event publisher', () => {
  test('stamps each event with its time; a followed job gets its calls’ gathered text, written before the next event of the job', async () => {
    const log = createMemoryEventLog(LIMITS)
    const sink = createEventPublisher(log, { deltaMs: 50 })
    const job = jobId()
    const stop = await log.subscribe(job, () => undefined)
    sink.publish(job, 'member', { agent: 'a', stage: 'draft', state: 'started' })
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'Hel')
    await sink.flush() // the publisher's look: the job is followed, 'Hel' is written
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'lo')
    sink.delta(job, { stage: 'draft', agent: 'b' }, 'Hi')
    sink.publish(job, 'member', { agent: 'a', stage: 'draft', state: 'succeeded' })
    await sink.flush()
    const events = await log.history(job, null)
    expect(events.map((event) => [event.type, event.data.agent, event.data.text ?? event.data.state])).toEqual([
      ['member', 'a', 'started'],
      ['delta', 'a', 'Hel'],
      ['delta', 'a', 'lo'],
      ['delta', 'b', 'Hi'],
      ['member', 'a', 'succeeded'],
    ])
    for (const event of events) expect(Date.now() - Date.parse(event.data.at as string)).toBeLessThan(5000)
    stop()
    await log.close()
  })

  test('nobody following: no delta is written; a follower who arrives mid-call gets the text so far, then the rest, joining up', async () => {
    const log = createMemoryEventLog(LIMITS)
    const sink = createEventPublisher(log, { deltaMs: 20 })
    const job = jobId()
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'One ')
    sink.delta(job, { stage: 'draft', agent: 'b' }, 'Lost ')
    await Bun.sleep(60)
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'two ')
    sink.publish(job, 'member', { agent: 'b', stage: 'draft', state: 'succeeded' }) // b ends unseen: its text is dropped
    await sink.flush()
    expect((await log.history(job, null)).filter((event) => event.type === 'delta')).toEqual([])
    const stop = await log.subscribe(job, () => undefined)
    await Bun.sleep(60) // the next look finds the follower
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'three')
    sink.publish(job, 'member', { agent: 'a', stage: 'draft', state: 'succeeded' })
    await sink.flush()
    const events = await log.history(job, null)
    expect(events.filter((event) => event.type === 'delta').map((event) => event.data.text)).toEqual(['One two ', 'three'])
    expect(events.at(-1)).toMatchObject({ type: 'member', data: { agent: 'a', state: 'succeeded' } })
    stop()
    await log.close()
  })

  test('following: asks the log (the questions of one moment together) and keeps the answer for deltaMs', async () => {
    const log = createMemoryEventLog(LIMITS)
    let looks = 0
    const counted: JobEventLog = { ...log, followed: (ids) => (looks++, log.followed(ids)) }
    const sink = createEventPublisher(counted, { deltaMs: 40 })
    const [watched, alone] = [jobId(), jobId()]
    const stop = await log.subscribe(watched, () => undefined)
    expect(await Promise.all([sink.following(watched), sink.following(alone), sink.following(watched)])).toEqual([true, false, true])
    expect(looks).toBe(1)
    stop()
    expect(await sink.following(watched)).toBe(true) // the answer of a moment ago
    await Bun.sleep(60)
    expect(await sink.following(watched)).toBe(false)
    expect(looks).toBe(2)
    await log.close()
  })

  test('a followed lone delta is written within deltaMs; a log that fails reports the error and the job goes on', async () => {
    const log = createMemoryEventLog(LIMITS)
    const sink = createEventPublisher(log, { deltaMs: 30 })
    const job = jobId()
    const stop = await log.subscribe(job, () => undefined)
    sink.delta(job, { stage: 'draft', agent: 'a' }, 'x')
    await Bun.sleep(80)
    expect((await log.history(job, null)).map((event) => event.data.text)).toEqual(['x'])
    stop()
    await log.close()

    const errors: string[] = []
    const broken: JobEventLog = { ...log, publish: () => Promise.reject(new Error('redis down')) }
    const failing = createEventPublisher(broken, { onError: (error) => errors.push(error.message) })
    failing.publish(job, 'stage', { stage: 'draft' })
    await failing.flush()
    expect(errors).toEqual(['redis down'])
  })
})
