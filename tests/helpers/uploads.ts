/**
 * Uploads in tests: multipart forms with files made by the tests, and what is
 * left behind afterwards — the objects in storage and the rows of the
 * documents table — so a refusal or an abort can be shown to leave nothing.
 */
import { expect } from 'bun:test'
import type { DocumentRow } from '../../db/schema'
import type { ObjectStorage } from '../../plugins/storage'
import type { TestApp } from './app'

export type UploadFile = { name: string; bytes: Uint8Array | string; type?: string }

/** A multipart form: the fields first (as browsers send them), then the files under `files`. */
export function uploadForm(fields: Record<string, string>, files: UploadFile[] = []): FormData {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  for (const file of files) form.append('files', new Blob([file.bytes as BlobPart], { type: file.type ?? 'application/octet-stream' }), file.name)
  return form
}

/** `size` bytes of readable UTF-8 text (a valid .txt of exactly that size). */
export function textOfSize(size: number, seed = 'All work and no play makes a council dull. '): string {
  return seed.repeat(Math.ceil(size / seed.length)).slice(0, size)
}

/** Every object key under documents/ (originals and their page texts). */
export async function storedKeys(storage: ObjectStorage): Promise<string[]> {
  const keys: string[] = []
  for await (const object of storage.list('documents')) keys.push(object.key)
  return keys
}

/** Every row of the documents table, whatever its session or state. */
export async function documentRows(t: TestApp): Promise<DocumentRow[]> {
  const handle = t.deps.db.handle
  return handle.dialect === 'pg' ? handle.orm.select().from(handle.t.documents) : handle.orm.select().from(handle.t.documents)
}

/** Runs `action` and asserts it stored no object and wrote no document row. */
export async function leavesNothing<T>(t: TestApp, action: () => Promise<T>): Promise<T> {
  // Extraction jobs of earlier uploads write page objects; let them finish first.
  await settled(t)
  const keysBefore = await storedKeys(t.deps.storage)
  const rowsBefore = (await documentRows(t)).length
  const result = await action()
  await settled(t)
  expect(await storedKeys(t.deps.storage)).toEqual(keysBefore)
  expect((await documentRows(t)).length).toBe(rowsBefore)
  return result
}

/** The in-process runner has nothing to do (extraction jobs included); a no-op for BullMQ. */
export async function settled(t: TestApp): Promise<void> {
  const queue = t.deps.queue as { idle?: () => Promise<void> }
  await queue.idle?.()
}

export const sha256 = (bytes: Uint8Array | string) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex')

/** Waits until the in-process runner is idle and every document of the session has left pending/extracting. */
export async function documentsSettled(t: TestApp, user: string, sessionId: string, timeoutMs = 20_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const res = await t.json('GET', `/api/v1/sessions/${sessionId}/documents`, { user })
    if (res.body.items.every((doc: any) => doc.status === 'extracted' || doc.status === 'failed')) return res.body.items
    if (Date.now() > deadline) throw new Error(`documents not read in time: ${JSON.stringify(res.body.items)}`)
    await Bun.sleep(25)
  }
}

/** Audit events of one action, newest last (read through the dialect's own handle). */
export async function auditEvents(t: TestApp, action: string) {
  await t.deps.audit.flush()
  const handle = t.deps.db.handle
  const rows = handle.dialect === 'pg' ? await handle.orm.select().from(handle.t.auditEvents) : await handle.orm.select().from(handle.t.auditEvents)
  return rows.filter((row) => row.action === action)
}
