/**
 * Storage keys are safe by construction (plugins/storage/keys.ts): only
 * `<prefix>/<uuid>[/<name>]` can be made or accepted, and the local backend
 * also refuses any path that resolves outside its root.
 */
import { describe, expect, test } from 'bun:test'
import { posix } from 'node:path'
import {
  assertStorageKey,
  childKey,
  InvalidStorageKeyError,
  isStorageKey,
  listPrefixPath,
  newStorageKey,
  parseStorageKey,
  STORAGE_PREFIXES,
  type StorageKey,
  type StoragePrefix,
} from '../../plugins/storage'
import { containedPath } from '../../plugins/storage/local'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const EVIL = [
  '../x',
  '..',
  '.',
  '/',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  'documents/..',
  'documents/../../etc/passwd',
  'documents/%2e%2e/%2e%2e/etc/passwd',
  'documents/%2E%2E',
  'documents/..%2f..%2fetc%2fpasswd',
  'documents\\..\\..\\etc\\passwd',
  'documents/0190a6b2-0000-7000-8000-000000000000\0',
  'documents/0190a6b2-0000-7000-8000-000000000000/..',
  'documents/0190a6b2-0000-7000-8000-000000000000/./x',
  'documents/0190a6b2-0000-7000-8000-000000000000/a/b',
  'documents/0190a6b2-0000-7000-8000-000000000000/page.txt',
  'documents/0190a6b2-0000-7000-8000-000000000000 ',
  ' documents/0190a6b2-0000-7000-8000-000000000000',
  'documents/0190A6B2-0000-7000-8000-000000000000',
  'documents/not-a-uuid',
  'uploads/0190a6b2-0000-7000-8000-000000000000',
  'documents/report.pdf',
  'documents/0190a6b2-0000-7000-8000-000000000000\n',
]

describe('storage keys', () => {
  test('newStorageKey makes <prefix>/<uuid v7> for every prefix, unique and in creation order', () => {
    for (const prefix of STORAGE_PREFIXES) {
      const key = newStorageKey(prefix)
      const [head, id, ...rest] = key.split('/')
      expect(head).toBe(prefix)
      expect(id).toMatch(UUID)
      expect(rest).toEqual([])
      expect(isStorageKey(key)).toBe(true)
    }
    const keys = Array.from({ length: 200 }, () => newStorageKey('documents'))
    expect(new Set(keys).size).toBe(200)
    expect([...keys].sort()).toEqual(keys)
  })

  test('an unknown prefix is refused even when forced past the type', () => {
    for (const prefix of ['uploads', '..', '', 'documents/..', '/etc']) {
      expect(() => newStorageKey(prefix as StoragePrefix)).toThrow(InvalidStorageKeyError)
    }
  })

  test('childKey: one level of lowercase names joined by - or _', () => {
    const parent = newStorageKey('extracted')
    expect(childKey(parent, 'page-0001')).toBe(`${parent}/page-0001` as StorageKey)
    expect(childKey(parent, 'text_v2')).toBe(`${parent}/text_v2` as StorageKey)
    for (const name of ['', '.', '..', '...', 'a/b', '../x', 'page.txt', 'Page', '%2e%2e', 'x\0', 'a\\b', '-x', 'x-', 'a--b', 'x'.repeat(33), ' x']) {
      expect(() => childKey(parent, name)).toThrow(InvalidStorageKeyError)
    }
    expect(() => childKey(childKey(parent, 'page-1'), 'deeper')).toThrow(InvalidStorageKeyError)
    expect(() => childKey('../x' as StorageKey, 'page-1')).toThrow(InvalidStorageKeyError)
  })

  test('parseStorageKey reads a stored key back and refuses anything else', () => {
    const key = newStorageKey('documents')
    expect(parseStorageKey(String(key))).toBe(key)
    for (const raw of EVIL) {
      expect(isStorageKey(raw)).toBe(false)
      expect(() => parseStorageKey(raw)).toThrow(InvalidStorageKeyError)
      expect(() => assertStorageKey(raw)).toThrow(InvalidStorageKeyError)
    }
    for (const value of [null, undefined, 42, {}, ['documents']]) expect(isStorageKey(value)).toBe(false)
  })

  test('the error is a 400 invalid_storage_key and quotes the value safely', () => {
    let thrown: unknown
    try {
      assertStorageKey('documents/\0\n../x')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidStorageKeyError)
    expect((thrown as InvalidStorageKeyError).status).toBe(400)
    expect((thrown as InvalidStorageKeyError).code).toBe('invalid_storage_key')
    expect((thrown as Error).message).not.toContain('\0')
    expect((thrown as Error).message).not.toContain('\n')
  })

  test('property: any accepted string is a normalised relative path of 2 or 3 segments under a known prefix', () => {
    const alphabet = ['.', '/', '\\', '%', '2', 'e', '\0', 'a', '-', '_', ' ', 'A', ':']
    const base = `documents/${crypto.randomUUID()}/page-1`
    let accepted = 0
    for (let i = 0; i < 5000; i++) {
      const chars = [...base]
      const edits = 1 + (i % 4)
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(Math.random() * (chars.length + 1))
        const char = alphabet[Math.floor(Math.random() * alphabet.length)]!
        if (Math.random() < 0.5) chars.splice(at, 0, char)
        else chars.splice(at, 1, char)
      }
      const candidate = chars.join('')
      if (!isStorageKey(candidate)) continue
      accepted++
      expect(posix.normalize(candidate)).toBe(candidate)
      expect(candidate.startsWith('/') || candidate.includes('..') || /[\\%\0 :]/.test(candidate)).toBe(false)
      expect(STORAGE_PREFIXES).toContain(candidate.split('/')[0] as StoragePrefix)
      expect([2, 3]).toContain(candidate.split('/').length)
    }
    // Some mutations (a letter inside the child name) stay valid; the property was exercised.
    expect(accepted).toBeGreaterThan(0)
  })

  test('listPrefixPath: a whole prefix or a key, always ending in /', () => {
    expect(listPrefixPath('documents')).toBe('documents/')
    const key = newStorageKey('extracted')
    expect(listPrefixPath(key)).toBe(`${key}/`)
    for (const raw of ['', 'documents/', '..', '../documents', 'documents/..']) {
      expect(() => listPrefixPath(raw as StoragePrefix)).toThrow(InvalidStorageKeyError)
    }
  })

  test('local backend: a path that resolves outside the root is refused, whatever the key check said', () => {
    const root = '/srv/council/objects'
    expect(containedPath(root, 'documents/x.bin')).toBe('/srv/council/objects/documents/x.bin')
    expect(containedPath(`${root}/`, 'extracted/a/page-1.bin')).toBe('/srv/council/objects/extracted/a/page-1.bin')
    for (const relative of ['../x', '../../etc/passwd', '/etc/passwd', 'documents/../../x', '', '.', 'documents/..', 'a\0b', '../objects-evil/x']) {
      expect(() => containedPath(root, relative)).toThrow(InvalidStorageKeyError)
    }
  })
})
