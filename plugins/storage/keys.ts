/**
 * Object keys are opaque and safe by construction: the only way to make one is
 * `newStorageKey(prefix)` (→ `documents/<uuid>`) or `childKey(key, name)`
 * (→ `extracted/<uuid>/page-0001`), and every backend re-checks each key it is
 * handed with `assertStorageKey`, so a user's filename, a server path or a
 * traversal (`../x`, `/etc/passwd`, `%2e%2e`, NUL, `\`) never reaches a disk or a bucket.
 */
import { AppError } from '../../src/errors'

/** The fixed top-level prefixes; a new kind of object adds its prefix here. */
export const STORAGE_PREFIXES = ['documents', 'extracted', 'exports', 'health'] as const
export type StoragePrefix = (typeof STORAGE_PREFIXES)[number]

declare const storageKeyBrand: unique symbol
/** A key that passed `assertStorageKey`; plain strings do not type-check where a key is expected. */
export type StorageKey = string & { readonly [storageKeyBrand]: true }

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
/** A child name: lowercase words joined by - or _, no dots, so never `.` or `..`. */
const CHILD = '[a-z0-9]{1,32}(?:[-_][a-z0-9]{1,32}){0,7}'
const KEY = new RegExp(`^(?:${STORAGE_PREFIXES.join('|')})/${UUID}(?:/${CHILD})?$`)
const CHILD_NAME = new RegExp(`^${CHILD}$`)

/** A key (or a name for one) that is not of the shapes above. 400: never a 500, even if a caller forwards user input. */
export class InvalidStorageKeyError extends AppError {
  constructor(reason: string) {
    super(400, 'invalid_storage_key', `Invalid storage key: ${reason}.`)
    this.name = 'InvalidStorageKeyError'
  }
}

/** Describes a rejected value without echoing it raw into logs (it may hold control characters). */
const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value)

export function isStorageKey(value: unknown): value is StorageKey {
  return typeof value === 'string' && KEY.test(value)
}

/** Every backend calls this on every key before using it. */
export function assertStorageKey(value: unknown): asserts value is StorageKey {
  if (!isStorageKey(value))
    throw new InvalidStorageKeyError(`${shown(value)} is not <prefix>/<uuid>[/<name>] with a prefix of ${STORAGE_PREFIXES.join(', ')}`)
}

/**
 * A fresh key under one of the fixed prefixes.
 * @example
 * const key = newStorageKey('documents') // 'documents/0193…-…'
 */
export function newStorageKey(prefix: StoragePrefix): StorageKey {
  if (!(STORAGE_PREFIXES as readonly string[]).includes(prefix)) throw new InvalidStorageKeyError(`unknown prefix ${shown(prefix)}`)
  const key = `${prefix}/${Bun.randomUUIDv7()}`
  assertStorageKey(key)
  return key
}

/**
 * A key below another one, for objects that belong together (the pages of one
 * document's text); `list(parent)` finds them and a hard delete removes them.
 * @example
 * const page = childKey(textKey, 'page-0001')
 */
export function childKey(parent: StorageKey, name: string): StorageKey {
  assertStorageKey(parent)
  if (parent.split('/').length !== 2) throw new InvalidStorageKeyError('a child key cannot have children')
  if (!CHILD_NAME.test(name)) throw new InvalidStorageKeyError(`child name ${shown(name)} must be lowercase letters and digits joined by - or _`)
  const key = `${parent}/${name}`
  assertStorageKey(key)
  return key
}

/**
 * Reads a key stored elsewhere (a documents row) back into the type, checking it.
 * @example
 * const key = parseStorageKey(row.storageKey)
 */
export function parseStorageKey(value: string): StorageKey {
  assertStorageKey(value)
  return value
}

/** What `list` takes: a whole prefix, or a key whose children are wanted. */
export type StorageListPrefix = StoragePrefix | StorageKey

/** `documents` → `documents/`; a key → `<key>/`. Checked like a key. */
export function listPrefixPath(prefix: StorageListPrefix): string {
  if ((STORAGE_PREFIXES as readonly string[]).includes(prefix)) return `${prefix}/`
  assertStorageKey(prefix)
  return `${prefix}/`
}
