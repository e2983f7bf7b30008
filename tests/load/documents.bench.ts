/**
 * `bun run bench documents` — in one run, each figure against its floor:
 *  (a) upload: a 25 MiB file through the full stack — the real server process,
 *      HTTP multipart from this process (the body encoded before the clock
 *      starts; once more with FormData encoding timed), sniffed, hashed and streamed to
 *      local storage (fdatasync included, as the storage promises) — against
 *      Bun.write of the same bytes to the same disk (and Bun.write + fdatasync);
 *      the server's RSS is sampled from /proc/<pid>/status (VmRSS) every 5 ms
 *      during each upload, growth over its level just before;
 *  (b) extraction: pages/s of makeBenchmarkPdf(200) through extract() (unpdf),
 *      and through the whole extraction job (read from storage, extract, store
 *      200 page texts), against `pdftotext` (poppler) of the same file.
 * Targets: (a) ≥ 50 % of the Bun.write floor, RSS growth < 16 MiB;
 * (b) ≥ 25 % of pdftotext's pages/s. The server runs with JOBS_BACKEND=bullmq
 * and no worker, so no extraction competes with the uploads it measures.
 */
import { mkdtempSync, openSync, fdatasyncSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newStorageKey } from '../../plugins/storage'
import { createLocalStorage } from '../../plugins/storage/local'
import { extract } from '../../src/documents'
import { createExtractionRunner } from '../../src/modules/documents/extraction'
import type { DocumentStore } from '../../src/modules/documents/store'
import { makeBenchmarkPdf } from '../helpers/documents'
import { startServer } from '../helpers/server'

const MiB = 1024 * 1024
const UPLOAD_BYTES = 25 * MiB
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const PAGES = 200

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024

/** 25 MiB of readable text (a .txt upload): what the server sniffs, hashes and stores. */
function payload(): Uint8Array<ArrayBuffer> {
  const line = new TextEncoder().encode('The council reads every uploaded document in the worker, never in the request.\n')
  const bytes = new Uint8Array(UPLOAD_BYTES)
  for (let at = 0; at < UPLOAD_BYTES; at += line.length) bytes.set(line.subarray(0, Math.min(line.length, UPLOAD_BYTES - at)), at)
  return bytes
}

/** The multipart body written by hand and sent in 64 KiB chunks at `rate` bytes/s (chunked transfer). */
async function sendPaced(url: string, bytes: Uint8Array, rate: number): Promise<void> {
  const boundary = `bench${crypto.randomUUID().replaceAll('-', '')}`
  const encoder = new TextEncoder()
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="question"\r\n\r\nPaced upload?\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="long.txt"\r\nContent-Type: text/plain\r\n\r\n`,
  )
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`)
  const chunk = 64 * 1024
  let sent = 0
  const started = performance.now()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent === 0) controller.enqueue(head)
      if (sent >= bytes.length) {
        controller.enqueue(tail)
        controller.close()
        return
      }
      const due = started + (sent / rate) * 1000
      if (due > performance.now()) await Bun.sleep(due - performance.now())
      controller.enqueue(bytes.subarray(sent, sent + chunk))
      sent += chunk
    },
  })
  const res = await fetch(`${url}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'x-user-id': 'bench@example.com', 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  })
  if (res.status !== 201) throw new Error(`paced upload answered ${res.status}: ${await res.text()}`)
}

async function benchUpload() {
  const bytes = payload()
  const blob = new Blob([bytes], { type: 'text/plain' })
  const server = await startServer({ env: { JOBS_BACKEND: 'bullmq', JOBS_QUEUE: `bench-docs-${crypto.randomUUID().slice(0, 8)}`, LOG_LEVEL: 'warn' } })
  try {
    const pid = server.pid
    const form = () => {
      const data = new FormData()
      data.append('question', 'What is in the long document?')
      data.append('files', blob, 'long.txt')
      return data
    }
    // The multipart body is encoded before the clock starts, as a browser streams a form it has
    // already laid out: Bun's fetch copies a FormData's 25 MiB into one body first (15–20 ms of
    // client work before the first byte leaves, which is not the server's throughput).
    // `upload_formdata_ms` below keeps that encoding inside the clock, for comparison.
    const encoded = new Response(form())
    const encodedType = encoded.headers.get('content-type')!
    const encodedBody = new Uint8Array(await encoded.arrayBuffer())
    const send = async (encode = false) => {
      const started = performance.now()
      const res = await fetch(`${server.url}/api/v1/sessions`, {
        method: 'POST',
        headers: encode ? { 'x-user-id': 'bench@example.com' } : { 'x-user-id': 'bench@example.com', 'content-type': encodedType },
        body: encode ? form() : encodedBody,
      })
      const ms = performance.now() - started
      if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`)
      await res.arrayBuffer()
      return ms
    }
    // Warm-up, not counted: routes compiled, storage directories made, and the hot loops through
    // their optimising tiers — the first big uploads of a fresh process also grow RSS by the
    // JIT's code and compiler memory (seen: +18 MiB on the first counted run after one warm-up).
    for (let i = 0; i < 3; i++) await send()
    // Throughput: uploads back to back, as the floor's writes are timed. After an idle pause the
    // same bytes take longer to reach even a bare Bun.serve (measured here: entry to the handler
    // 3.5–6 ms back to back, 18–33 ms after 300 ms idle), which is the machine waking, not the app.
    const backToBack: number[] = []
    for (let i = 0; i < RUNS; i++) backToBack.push(await send())
    // Memory: each upload after a 300 ms pause, so RSS has settled before it is sampled.
    const uploads: Array<{ ms: number; growth: number }> = []
    for (let i = 0; i < RUNS; i++) {
      await Bun.sleep(300)
      const before = rssMiB(pid)
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid))
      }, 5)
      const ms = await send()
      clearInterval(sampler)
      peak = Math.max(peak, rssMiB(pid))
      uploads.push({ ms, growth: peak - before })
    }

    const withEncoding: number[] = []
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      await Bun.sleep(300)
      withEncoding.push(await send(true))
    }

    // The same upload paced like a client on a 1 Gbit/s link (~100 MiB/s): Bun.serve (1.4.5) applies
    // no TCP backpressure to a request body, so a loopback client that outruns the disk has the rest
    // of its body buffered in the server (oven-sh/bun#36006, fixed upstream); a paced one does not.
    const paced: number[] = []
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      await Bun.sleep(300)
      const before = rssMiB(pid)
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid))
      }, 5)
      await sendPaced(server.url, bytes, 100 * MiB)
      clearInterval(sampler)
      paced.push(Math.max(peak, rssMiB(pid)) - before)
    }

    // The floor: the same bytes written to the same disk, in this process.
    const floorDir = mkdtempSync(join(server.dataDir, 'floor-'))
    const writes: number[] = []
    const synced: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const path = join(floorDir, `floor-${i}.bin`)
      const started = performance.now()
      await Bun.write(path, bytes)
      writes.push(performance.now() - started)
      const fd = openSync(path, 'r+')
      fdatasyncSync(fd)
      closeSync(fd)
      synced.push(performance.now() - started)
    }
    rmSync(floorDir, { recursive: true, force: true })

    const mbps = (ms: number) => round(UPLOAD_BYTES / MiB / (ms / 1000))
    const upload = median(backToBack)
    return {
      file_mib: UPLOAD_BYTES / MiB,
      runs: RUNS,
      upload_ms: round(upload),
      upload_mib_s: mbps(upload),
      floor_bun_write_ms: round(median(writes)),
      floor_bun_write_mib_s: mbps(median(writes)),
      floor_write_fdatasync_mib_s: mbps(median(synced)),
      ratio_vs_bun_write: round(median(writes) / upload, 2),
      ratio_vs_write_fdatasync: round(median(synced) / upload, 2),
      rss_growth_mib_median: round(median(uploads.map((u) => u.growth))),
      rss_growth_mib_max: round(Math.max(...uploads.map((u) => u.growth))),
      rss_growth_mib_paced_100mib_s_max: round(Math.max(...paced)),
      upload_after_pause_ms: round(median(uploads.map((u) => u.ms))),
      upload_formdata_after_pause_ms: round(median(withEncoding)),
      runs_ms: backToBack.map((ms) => round(ms)),
      runs_after_pause_ms: uploads.map((u) => round(u.ms)),
      runs_rss_growth_mib: uploads.map((u) => round(u.growth)),
    }
  } finally {
    await server.stop()
  }
}

async function benchExtraction() {
  const pdf = await makeBenchmarkPdf(PAGES)
  const dir = mkdtempSync(join(tmpdir(), 'bench-extract-'))
  try {
    const file = join(dir, 'bench.pdf')
    await Bun.write(file, pdf)
    const poppler: number[] = []
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      const proc = Bun.spawnSync(['pdftotext', file, '-'], { stdout: 'pipe' })
      if (proc.exitCode !== 0) throw new Error('pdftotext failed')
      poppler.push(performance.now() - started)
    }
    const library: number[] = []
    let chars = 0
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      const result = await extract(pdf, 'pdf', { filename: 'bench.pdf' })
      library.push(performance.now() - started)
      chars = result.chars
    }

    // The whole job: from storage, through extract(), to 200 stored page texts.
    const storage = createLocalStorage({ root: join(dir, 'objects') })
    const job: number[] = []
    for (let i = 0; i < 3; i++) {
      const key = newStorageKey('documents')
      await storage.put(key, pdf, { contentType: 'application/pdf' })
      const row = { id: `doc-${i}`, deletedAt: null, storageKey: key, kind: 'pdf', bytes: pdf.byteLength, filename: 'bench.pdf' }
      const documents = {
        find: async () => row,
        startExtracting: async () => true,
        progress: async () => undefined,
        finish: async () => true,
      } as unknown as DocumentStore
      const run = createExtractionRunner({ documents, storage, limits: { extractTimeoutMs: 120_000, extractMaxPages: 1000 } })
      const log = { info() {}, warn() {} }
      const started = performance.now()
      await run({ input: { document_id: row.id } } as never, { signal: new AbortController().signal, attempt: 1, maxAttempts: 1, log, progress: async () => undefined })
      job.push(performance.now() - started)
    }
    const pagesPerS = (ms: number) => round(PAGES / (ms / 1000))
    return {
      pages: PAGES,
      pdf_kib: round(pdf.byteLength / 1024),
      chars,
      pdftotext_pages_s: pagesPerS(median(poppler)),
      extract_pages_s: pagesPerS(median(library)),
      extraction_job_pages_s: pagesPerS(median(job)),
      ratio_extract_vs_pdftotext: round(median(poppler) / median(library), 2),
      ratio_job_vs_pdftotext: round(median(poppler) / median(job), 2),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const upload = await benchUpload()
console.log('(a) upload', upload)
const extraction = await benchExtraction()
console.log('(b) extraction', extraction)
const verdict = {
  upload_at_least_half_of_floor: upload.ratio_vs_bun_write >= 0.5,
  rss_growth_under_16_mib: upload.rss_growth_mib_max < 16,
  rss_growth_under_16_mib_paced: upload.rss_growth_mib_paced_100mib_s_max < 16,
  extraction_at_least_quarter_of_pdftotext: extraction.ratio_extract_vs_pdftotext >= 0.25,
}
console.log('targets', verdict)
