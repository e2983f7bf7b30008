/**
 * Uploads through the API on libsql and PostgreSQL (local storage): a
 * multipart create streams each file to storage with its sha256; the
 * documents list has SPEC §4's fields; the owner downloads the bytes as an
 * attachment; every refusal (type, limits, empty, a missing question) is the
 * right status and code, names the file and the limit, and leaves no object
 * and no row. Documents are added or removed only before the session runs.
 */
import { describe, expect, test } from 'bun:test'
import { makeExe, makePdf } from '../helpers/documents'
import { auditEvents, documentRows, leavesNothing, settled, sha256, storedKeys, textOfSize, uploadForm } from '../helpers/uploads'
import { expectErrorShape, freshUser, useApp, DIALECT } from './support'

const LIMITS = { UPLOAD_MAX_FILE_BYTES: '4096', UPLOAD_MAX_FILES: '3', UPLOAD_MAX_SESSION_BYTES: '10000' }

describe(`uploads (${DIALECT})`, () => {
    const app = useApp(LIMITS)
    const create = (user: string, form: FormData) => app().json('POST', '/api/v1/sessions', { user, body: form })

    test('a multipart create stores each file with its sha256; the list and the download follow SPEC §4, for the owner only', async () => {
      const t = app()
      const user = freshUser('uploader')
      const pdf = await makePdf(['Revenue grew in the third quarter.'])
      const notes = '# Notes\nThe board met on Tuesday.\n'
      const res = await create(user, uploadForm({ question: 'What do these say?' }, [
        { name: 'report.pdf', bytes: pdf, type: 'application/pdf' },
        { name: 'C:\\Users\\ann\\notes.md', bytes: notes },
      ]))
      expect(res.status).toBe(201)
      expect(res.body.documents.map((d: any) => [d.filename, d.content_type, d.bytes, d.status])).toEqual([
        ['report.pdf', 'application/pdf', pdf.byteLength, 'pending'],
        ['notes.md', 'text/markdown; charset=utf-8', notes.length, 'pending'],
      ])

      const list = await t.json('GET', `/api/v1/sessions/${res.body.id}/documents`, { user })
      expect(list.status).toBe(200)
      const [first, second] = list.body.items
      for (const key of ['id', 'session_id', 'filename', 'mime', 'bytes', 'sha256', 'status', 'pages', 'chars', 'error', 'created_at'])
        expect(first).toHaveProperty(key)
      expect(first.sha256).toBe(sha256(pdf))
      expect(second.sha256).toBe(sha256(notes))
      expect(first.session_id).toBe(res.body.id)

      const download = await t.call('GET', `/api/v1/documents/${first.id}/content`, { user })
      expect(download.status).toBe(200)
      expect(download.headers.get('content-type')).toBe('application/pdf')
      expect(download.headers.get('content-disposition')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`)
      expect(download.headers.get('x-content-type-options')).toBe('nosniff')
      expect(new Uint8Array(await download.arrayBuffer())).toEqual(new Uint8Array(pdf))

      const stranger = freshUser('stranger')
      expectErrorShape(expect, await t.json('GET', `/api/v1/documents/${first.id}/content`, { user: stranger }), 404, 'not_found')
      expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${res.body.id}/documents`, { user: stranger }), 404, 'not_found')
      expectErrorShape(expect, await t.json('DELETE', `/api/v1/documents/${first.id}`, { user: stranger }), 404, 'not_found')
      expectErrorShape(expect, await t.json('POST', `/api/v1/sessions/${res.body.id}/documents`, { user: stranger, body: uploadForm({}, [{ name: 'x.txt', bytes: 'hello' }]) }), 404)
    })

    test('an .exe renamed .pdf is 415 type_mismatch naming the file; nothing is stored and no row is written', async () => {
      const t = app()
      const user = freshUser()
      const res = await leavesNothing(t, () =>
        create(user, uploadForm({ question: 'Is this a report?' }, [{ name: 'fine.txt', bytes: 'A first file that is fine.' }, { name: 'invoice.pdf', bytes: makeExe() }])),
      )
      expectErrorShape(expect, res, 415, 'type_mismatch')
      expect(res.body.error.message).toContain('"invoice.pdf"')
      expect(res.body.error.message).toContain('Windows program')
      expect((await t.json('GET', '/api/v1/sessions', { user })).body.items).toEqual([])
    })

    test('an extension off the allow-list is 415 unsupported_type listing what is accepted', async () => {
      const res = await leavesNothing(app(), () => create(freshUser(), uploadForm({ question: 'q?' }, [{ name: 'setup.exe', bytes: makeExe() }])))
      expectErrorShape(expect, res, 415, 'unsupported_type')
      expect(res.body.error.message).toContain('"setup.exe"')
      expect(res.body.error.message).toContain('.pdf, .docx, .txt, .md, .csv')
    })

    test('a file of exactly UPLOAD_MAX_FILE_BYTES is accepted; one byte more is 413 file_too_large naming the file and the limit, leaving nothing', async () => {
      const t = app()
      const user = freshUser()
      const exact = await create(user, uploadForm({ question: 'At the limit?' }, [{ name: 'exact.txt', bytes: textOfSize(4096) }]))
      expect(exact.status).toBe(201)
      expect(exact.body.documents[0].bytes).toBe(4096)
      const over = await leavesNothing(t, () => create(user, uploadForm({ question: 'Over it?' }, [{ name: 'over.txt', bytes: textOfSize(4097) }])))
      expectErrorShape(expect, over, 413, 'file_too_large')
      expect(over.body.error.message).toContain('"over.txt"')
      expect(over.body.error.message).toContain('4096 bytes')
    })

    test('too many files is 413 too_many_files; more bytes than a session may hold is 413 session_too_large; both leave nothing', async () => {
      const t = app()
      const files = (n: number, size: number) => Array.from({ length: n }, (_, i) => ({ name: `part-${i + 1}.txt`, bytes: textOfSize(size) }))
      const many = await leavesNothing(t, () => create(freshUser(), uploadForm({ question: 'Four files?' }, files(4, 10))))
      expectErrorShape(expect, many, 413, 'too_many_files')
      expect(many.body.error.message).toContain('"part-4.txt"')
      expect(many.body.error.message).toContain('3 files per session')
      const big = await leavesNothing(t, () => create(freshUser(), uploadForm({ question: 'Too much?' }, files(3, 4000))))
      expectErrorShape(expect, big, 413, 'session_too_large')
      expect(big.body.error.message).toContain('"part-3.txt"')
      expect(big.body.error.message).toContain('10000 bytes')
    })

    test('an empty file is 422 empty_file; files without a question are 422 question_required; neither leaves anything', async () => {
      const t = app()
      const empty = await leavesNothing(t, () => create(freshUser(), uploadForm({ question: 'Empty?' }, [{ name: 'empty.txt', bytes: '' }])))
      expectErrorShape(expect, empty, 422, 'empty_file')
      const noQuestion = await leavesNothing(t, () => create(freshUser(), uploadForm({}, [{ name: 'a.txt', bytes: 'some text here' }])))
      expectErrorShape(expect, noQuestion, 422, 'question_required')
    })

    test('documents are added and removed before the run (201 {items}, 204), and refused after it with 409 session_started', async () => {
      const t = app()
      const user = freshUser()
      const created = await t.json('POST', '/api/v1/sessions', { user, body: { question: 'Documents later?' } })
      expect(created.body.documents).toEqual([])
      const added = await t.json('POST', `/api/v1/sessions/${created.body.id}/documents`, {
        user,
        body: uploadForm({}, [{ name: 'a.txt', bytes: 'The first document.' }, { name: 'b.csv', bytes: 'name,value\nx,1\n' }]),
      })
      expect(added.status).toBe(201)
      expect(added.body.items.map((d: any) => d.filename)).toEqual(['a.txt', 'b.csv'])
      await settled(t)
      const bKey = (await documentRows(t)).find((row) => row.id === added.body.items[1].id)!.storageKey
      const ofB = async () => (await storedKeys(t.deps.storage)).filter((k) => k === bKey || k.startsWith(`${bKey}/`))
      expect(await ofB()).toEqual([bKey, `${bKey}/page-0001`])

      const removed = await t.call('DELETE', `/api/v1/documents/${added.body.items[1].id}`, { user })
      expect(removed.status).toBe(204)
      expectErrorShape(expect, await t.json('GET', `/api/v1/documents/${added.body.items[1].id}/content`, { user }), 404)
      expect(await ofB()).toEqual([])
      expect((await t.json('GET', `/api/v1/sessions/${created.body.id}`, { user })).body.documents.map((d: any) => d.filename)).toEqual(['a.txt'])

      expect((await t.json('POST', `/api/v1/sessions/${created.body.id}/run`, { user })).status).toBe(202)
      const late = await leavesNothing(t, () =>
        t.json('POST', `/api/v1/sessions/${created.body.id}/documents`, { user, body: uploadForm({}, [{ name: 'c.txt', bytes: 'Too late.' }]) }),
      )
      expectErrorShape(expect, late, 409, 'session_started')
      expectErrorShape(expect, await t.json('DELETE', `/api/v1/documents/${added.body.items[0].id}`, { user }), 409, 'session_started')
      const json = await t.json('POST', `/api/v1/sessions/${created.body.id}/documents`, { user, body: { files: [] } })
      expectErrorShape(expect, json, 415)
    })

    test('every upload is audited with metadata only: bytes, type and hash, never the name or the content', async () => {
      const t = app()
      const user = freshUser()
      const secret = 'Confidential: the merger closes on Friday.'
      const res = await create(user, uploadForm({ question: 'Audited?' }, [{ name: 'merger-plan.txt', bytes: secret }]))
      const event = (await auditEvents(t, 'document.upload')).find((e) => e.sessionId === res.body.id)!
      expect(event.target).toBe(`document:${res.body.documents[0].id}`)
      expect(event.actor).toBe(user)
      expect(event.metadata).toMatchObject({ bytes: secret.length, mime: 'text/plain; charset=utf-8', kind: 'txt', sha256: sha256(secret) })
      expect(JSON.stringify(event)).not.toContain('merger')
      expect(JSON.stringify(event)).not.toContain('Confidential')
      await leavesNothing(t, () => create(user, uploadForm({ question: 'Refused?' }, [{ name: 'x.exe', bytes: makeExe() }])))
      expect((await auditEvents(t, 'document.upload_refused')).some((e) => e.actor === user && (e.metadata as any).code === 'unsupported_type')).toBe(true)
    })

    test('a soft-deleted session hides its documents; a hard delete (admin) removes their objects and rows', async () => {
      const t = app()
      const user = freshUser()
      const res = await create(user, uploadForm({ question: 'Delete me?' }, [{ name: 'a.txt', bytes: 'Keep this safe.' }, { name: 'b.md', bytes: '# Title\nBody.' }]))
      const ids: string[] = res.body.documents.map((d: any) => d.id)
      const keys = (await documentRows(t)).filter((row) => row.sessionId === res.body.id).map((row) => row.storageKey)
      expect(keys).toHaveLength(2)

      expect((await t.call('DELETE', `/api/v1/sessions/${res.body.id}`, { user })).status).toBe(204)
      for (const id of ids) expectErrorShape(expect, await t.json('GET', `/api/v1/documents/${id}/content`, { user }), 404)
      expectErrorShape(expect, await t.json('GET', `/api/v1/sessions/${res.body.id}/documents`, { user }), 404)

      expect((await t.call('DELETE', `/api/v1/sessions/${res.body.id}?hard=true`, { user: freshUser('admin'), role: 'admin' })).status).toBe(204)
      await settled(t)
      const left = await storedKeys(t.deps.storage)
      expect(left.filter((k) => keys.some((key) => k === key || k.startsWith(`${key}/`)))).toEqual([])
      expect((await documentRows(t)).filter((row) => row.sessionId === res.body.id)).toEqual([])
      const [event] = (await auditEvents(t, 'session.hard_delete')).filter((e) => e.sessionId === res.body.id)
      expect(event!.metadata).toMatchObject({ documents: 2 })
    })
  })
