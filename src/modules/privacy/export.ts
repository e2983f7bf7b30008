/**
 * A person's data as one JSON document, written piece by piece (a page of
 * sessions at a time), so an export of thousands of councils never sits whole
 * in memory:
 *
 *   { "format": "agent-council-export/1", "generated_at", "user": {…},
 *     "sessions": [ { …summary, deleted_at, results: {drafts, reviews, leaderboard, synthesis, …} | null, documents: [metadata] } ],
 *     "records": { "<table>": [rows naming the person], … } }
 *
 * `records` is read off the data walk's plan: every table with a column naming
 * the person (tickets, comments, tokens, payments, entitlements, budgets, role
 * bindings, jobs, …), including tables added after this was written. Hashes,
 * secrets and storage keys are left out; so is document text (metadata only).
 */
import type { Stores } from '../../stores'
import type { Row } from '../data/store'
import { loadResults } from '../sessions/results'

const EXPORT_FORMAT = 'agent-council-export/1'

/** Tables with a section of their own, or never exported (the audit trail is read by admins at /api/admin/audit). */
const SECTIONED = new Set(['users', 'sessions', 'stage_outputs', 'documents', 'audit_events'])
const NEVER = /(^|_)(hash|secret|password)$/
const DOCUMENT_TEXT = /(^|_)(text|content)$/
const PAGE = 100

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : (value ?? null))

/** The row without its secret, hash and storage-key columns (and, for documents, their text). */
function visible(stores: Stores, table: string, row: Row): Row {
  const plan = stores.data.plans.find((candidate) => candidate.name === table)!
  const hidden = new Set(plan.objectColumns.filter((column) => column.dataType !== 'json').map((column) => column.name))
  const out: Row = {}
  for (const [name, value] of Object.entries(row)) {
    if (hidden.has(name) || NEVER.test(name) || (table === 'documents' && DOCUMENT_TEXT.test(name))) continue
    out[name] = value instanceof Date ? value.toISOString() : value
  }
  return out
}

async function* sessionsOf(stores: Stores, userId: string): AsyncGenerator<string> {
  const documents = stores.data.plans.find((plan) => plan.name === 'documents' && plan.columns.some((column) => column.name === 'session_id'))
  let after: string | null = null
  let first = true
  for (;;) {
    const page = await stores.data.rows('sessions', { column: 'user_id', values: [userId] }, after, PAGE)
    for (const row of page) {
      const id = String(row.id)
      const status = String(row.status)
      const results = status === 'created' ? null : await loadResults(stores, { id, status, palette_id: String(row.palette_id) })
      const docs = documents ? await stores.data.rows('documents', { column: 'session_id', values: [id] }, null, 10_000) : []
      const session = {
        id,
        question: row.question,
        palette_id: row.palette_id,
        status,
        stage: row.stage ?? null,
        partial: Boolean(row.partial),
        tokens: { input: row.tokens_in, output: row.tokens_out },
        cost_usd: Number(row.cost_micro_usd) / 1_000_000,
        error: row.error ?? null,
        created_at: iso(row.created_at),
        updated_at: iso(row.updated_at),
        deleted_at: iso(row.deleted_at),
        results,
        documents: docs.map((doc) => visible(stores, 'documents', doc)),
      }
      yield `${first ? '' : ','}${JSON.stringify(session)}`
      first = false
    }
    if (page.length < PAGE) return
    after = String(page[page.length - 1]!.id)
  }
}

async function* recordsOf(stores: Stores, userId: string): AsyncGenerator<string> {
  let tables = 0
  for (const plan of stores.data.plans) {
    if (SECTIONED.has(plan.name) || !plan.primaryKey) continue
    const columns = plan.refs.filter((ref) => ref.target === 'users').map((ref) => ref.column.name)
    let rows = 0
    const seen = new Set<string>()
    for (const column of columns) {
      let after: string | null = null
      for (;;) {
        const page = await stores.data.rows(plan.name, { column, values: [userId] }, after, PAGE)
        for (const row of page) {
          const id = String(row[plan.primaryKey.name])
          if (seen.has(id)) continue
          seen.add(id)
          // A table appears once it has a row: no empty lists for what the person never used.
          const opening = rows === 0 ? `${tables++ === 0 ? '' : ','}${JSON.stringify(plan.name)}:[` : ','
          yield `${opening}${JSON.stringify(visible(stores, plan.name, row))}`
          rows += 1
        }
        if (page.length < PAGE) break
        after = String(page[page.length - 1]![plan.primaryKey.name])
      }
    }
    if (rows > 0) yield ']'
  }
}

/**
 * The pieces of the export document of `user`, in order; joined they are one JSON value.
 * @example
 * const text = (await Array.fromAsync(exportPieces(stores, user))).join('')
 */
export async function* exportPieces(stores: Stores, user: Row, now = new Date()): AsyncGenerator<string> {
  const userId = String(user.id)
  const header = {
    format: EXPORT_FORMAT,
    generated_at: now.toISOString(),
    user: { id: userId, external_id: user.external_id, email: user.email, display_name: user.display_name ?? null, created_at: iso(user.created_at) },
  }
  yield `${JSON.stringify(header).slice(0, -1)},"sessions":[`
  yield* sessionsOf(stores, userId)
  yield '],"records":{'
  yield* recordsOf(stores, userId)
  yield '}}'
}

/**
 * The pieces as a byte stream for a response body: each piece is read from the
 * database only when the client is ready for more, and a client that goes away
 * stops the reading.
 */
export function toByteStream(pieces: AsyncGenerator<string>, onError: (error: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await pieces.next()
          if (next.done) controller.close()
          else controller.enqueue(encoder.encode(next.value))
        } catch (error) {
          onError(error)
          controller.error(error)
        }
      },
      async cancel() {
        await pieces.return(undefined)
      },
    },
    { highWaterMark: 0 },
  )
}
