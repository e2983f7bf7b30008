/**
 * The fuzz walk's values (tests/integration/fuzz.test.ts; its routes and cases
 * are in ./fuzz-targets.ts, the judging of answers in ./fuzz-answers.ts): a
 * seeded PRNG, and for each field of a route the hostile values of every
 * category — missing, malformed, wrong-typed, oversized (1 MiB),
 * NUL-containing, unicode-odd, boundary — plus non-id path segments. Each case
 * changes one field of a request that is otherwise valid, so the value reaches
 * as deep as validation lets it.
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (below: number) => Math.floor(next() * below),
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)]!
    },
    /** `count` distinct items (all of them when there are fewer), in a seeded order. */
    sample<T>(items: readonly T[], count: number): T[] {
      const copy = [...items]
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
      }
      return copy.slice(0, count)
    },
  }
}
export type Random = ReturnType<typeof seededRandom>

export interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  default?: unknown
  format?: string
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  items?: Schema
  nullable?: boolean
}

type Location = 'path' | 'query' | 'header' | 'body'

export interface Field {
  in: Location
  name: string
  schema: Schema
  required: boolean
}

/** One method and path, in Elysia's form (`/api/v1/sessions/:id`), and what it takes. */
export interface Target {
  method: string
  path: string
  documented: boolean
  fields: Field[]
  /** Content types the body may come in; [] when the route takes none. */
  bodyTypes: string[]
  /** The body is one string (a webhook's raw text), not an object of properties. */
  rawBody: boolean
}

const ONE_MIB = 1024 * 1024
/** Built once: every oversized case shares these strings. */
const OVERSIZED = 'A'.repeat(ONE_MIB)
const OVERSIZED_MIXED = '\u{1F600}ä\u0000<script>'.repeat(Math.ceil(ONE_MIB / 14)).slice(0, ONE_MIB)

/** A value that is left out of the request altogether. */
export const MISSING = Symbol('missing')
/** A path or query value that goes into the URL exactly as written (already percent-encoded, or deliberately broken). */
class Raw {
  constructor(readonly text: string) {}
}
export type Value = unknown

export interface Variant {
  category: 'missing' | 'malformed' | 'wrong-type' | 'oversized' | 'nul' | 'unicode' | 'boundary' | 'segment'
  value: Value
  label: string
}

/** `{id}` → `:id` */
export const elysiaPath = (openApiPath: string) => openApiPath.replace(/\{(\w+)\}/g, ':$1')

/** The schemas a field may take, anyOf/oneOf flattened. */
const alternatives = (schema: Schema): Schema[] => [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap(alternatives).concat(schema.anyOf || schema.oneOf ? [] : [schema])

const typesOf = (schema: Schema): string[] =>
  alternatives(schema).flatMap((alt) => (Array.isArray(alt.type) ? alt.type : alt.type ? [alt.type] : alt.enum ? ['string'] : []))

const numeric = (schema: Schema) => typesOf(schema).some((type) => type === 'number' || type === 'integer') || alternatives(schema).some((alt) => alt.format === 'numeric' || alt.format === 'integer')

const bounds = (schema: Schema) => {
  const alts = alternatives(schema).concat(schema)
  const pick = (key: 'minimum' | 'maximum' | 'minLength' | 'maxLength' | 'minItems' | 'maxItems') =>
    alts.map((alt) => alt[key]).find((value): value is number => typeof value === 'number')
  return { min: pick('minimum'), max: pick('maximum'), minLength: pick('minLength'), maxLength: pick('maxLength'), minItems: pick('minItems'), maxItems: pick('maxItems') }
}

const SAMPLE_ID = '0190a0b0-0000-7000-8000-000000000000'
const STRING_CANDIDATES = ['probe', 'default', 'probe-1', 'probe_role', SAMPLE_ID, 'a', '2026-01-01', 'user']

/** A value the schema accepts: required properties only, the smallest valid strings and numbers. */
export function sample(schema: Schema | undefined, key = ''): unknown {
  if (!schema) return undefined
  if (schema.default !== undefined) return schema.default
  if (schema.const !== undefined) return schema.const
  if (Array.isArray(schema.enum)) return schema.enum[0]
  if (schema.anyOf?.length) return sample(schema.anyOf[0], key)
  if (schema.oneOf?.length) return sample(schema.oneOf[0], key)
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties?.[name], name)]))
    case 'number':
    case 'integer':
      return schema.minimum ?? 1
    case 'boolean':
      return false
    case 'array':
      return schema.minItems ? Array.from({ length: schema.minItems }, () => sample(schema.items, key)) : []
    default:
      return sampleString(schema, key)
  }
}

function sampleString(schema: Schema, key: string): string {
  if (schema.format === 'numeric' || schema.format === 'integer') return '1'
  if (schema.format === 'email' || key === 'email') return 'fuzz-probe@example.com'
  if (schema.format === 'date-time') return '2026-01-01T00:00:00Z'
  if (schema.format === 'binary') return 'probe'
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern)
    return STRING_CANDIDATES.find((candidate) => pattern.test(candidate)) ?? 'probe'
  }
  return 'probe'.padEnd(schema.minLength ?? 0, 'e').slice(0, schema.maxLength ?? 100)
}

// ----- the hostile values ----------------------------------------------------------------

const NUL_STRINGS = ['\u0000', 'probe\u0000', '\u0000probe\u0000tail', 'a\u0000'.repeat(64)]
const UNICODE_STRINGS = [
  '\uD800', // lone high surrogate
  'x\uDFFFy', // lone low surrogate
  '\uDC00\uD800', // reversed pair
  '\u202Eevil.exe\u202Ctxt.pdf', // RTL override
  '\u200F\u05E9\u05DC\u05D5\u05DD\u200E', // RTL marks around Hebrew
  'pro\u200Bbe\u200D\u2060\uFEFF', // zero-width and BOM
  '\uFEFF', // a bare BOM
  '\u{1F469}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}\u{1F3F3}\uFE0F\u200D\u{1F308}', // emoji sequences
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301', // stacked combining marks
  '\u2028\u2029\u0085', // line separators
  '\uFFFF\uFFFE\u{10FFFF}', // non-characters
  'ﬁ\u212A\u0130İ', // case-folding oddities
  '%00%2e%2e%2f', // encodings as literal text
  '\u0008\u001B[31mred\u001B[0m\r\n', // control characters and a terminal escape
]
const MALFORMED_STRINGS = ['', ' ', '-', '..', '../../etc/passwd', '<script>alert(1)</script>', "' OR 1=1 --", '{"$gt":""}', '${7*7}', 'constructor', '__proto__', 'toString', 'NaN', '1e309', 'null', 'undefined', 'true']
const WRONG_TYPES: Value[] = [123, -1, 1.5, true, false, null, {}, { nested: { deeper: [1] } }, [], ['probe'], [[]]]
const NUMBER_STRINGS = ['abc', '12abc', '0x10', '1e999', '-0', '+1', ' 1', '1 ', 'Infinity', 'NaN', '١٢', '1,5', '0.0000001', '9'.repeat(400)]

/** Non-id path segments: traversal, NUL, encodings, 5,000 characters. */
const PATH_SEGMENTS = [
  '..%2f..%2fetc%2fpasswd',
  '..%2F',
  '%2e%2e',
  '%252e%252e%252f',
  '..',
  '.',
  '%00',
  'probe%00.json',
  '%ED%A0%80', // a UTF-8-encoded lone surrogate
  '%FF%FE',
  '%C0%AF', // overlong "/"
  '%E0%A4%A', // a truncated escape
  '%',
  '%zz',
  '%20',
  '%5C..%5C',
  ';jsessionid=1',
  'x'.repeat(5000),
  '%F0%9F%98%80',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
].map((text) => new Raw(text))

/** Query text that is broken as percent-encoding, given raw. */
const RAW_QUERY = ['%', '%zz', '%ED%A0%80', '%FF', '%E0%A4%A', '%00', 'a%00b', '%C0%AF']

const utf8Latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')

/**
 * The hostile values of every category for one field. Pools are large; the
 * PRNG picks which members a run sends (every category is always sent).
 */
export function variantsFor(field: Field, random: Random, perCategory = 1): Variant[] {
  const { schema } = field
  const out: Variant[] = []
  const add = (category: Variant['category'], value: Value, label = describe(value)) => out.push({ category, value, label })
  const some = <T>(items: readonly T[]) => random.sample(items, perCategory)
  const b = bounds(schema)
  const isNumber = numeric(schema)
  const types = typesOf(schema)
  const isArray = types.includes('array')
  const isBinary = alternatives(schema).some((alt) => alt.format === 'binary' || alt.items?.format === 'binary')

  if (field.in !== 'path') add('missing', MISSING, 'missing')
  else add('missing', new Raw(''), 'empty segment')

  if (field.in === 'header') {
    // Headers carry Latin-1 only: unicode goes as its UTF-8 bytes; a NUL cannot be sent at all.
    for (const value of some(MALFORMED_STRINGS)) add('malformed', value || ' ')
    add('wrong-type', random.pick(['[]', '{}', 'true', '-1', '1.5']))
    add('oversized', OVERSIZED.slice(0, 64 * 1024), '64 KiB')
    add('nul', 'probe\u0001\u007F', 'control characters (NUL cannot be sent in a header)')
    for (const value of some(UNICODE_STRINGS)) add('unicode', utf8Latin1(value.replace(/[\r\n\u0000]/g, '')), describe(value))
    add('boundary', 'x'.repeat((b.maxLength ?? 64) + 1), `maxLength+1 (${(b.maxLength ?? 64) + 1})`)
    return out
  }

  for (const value of some(MALFORMED_STRINGS)) add('malformed', value)
  if (field.in === 'query') for (const text of some(RAW_QUERY)) add('malformed', new Raw(text), `raw ${text}`)
  if (field.in === 'path') for (const segment of random.sample(PATH_SEGMENTS, Math.max(3, perCategory * 3))) add('segment', segment, `segment ${describe(segment.text)}`)
  if (isNumber) for (const value of some(NUMBER_STRINGS)) add('malformed', value)

  if (field.in === 'body') for (const value of some(WRONG_TYPES)) add('wrong-type', value)
  else add('wrong-type', random.pick(['[]', '{}', 'true', '-1.5', '[object Object]']))
  if (field.in === 'query') add('wrong-type', ['1', '2'], 'repeated parameter')
  if (isBinary) add('wrong-type', 'not a file', 'text instead of a file')

  add('oversized', random.pick([OVERSIZED, OVERSIZED_MIXED]), '1 MiB string')
  if (field.in === 'body' && isArray) add('oversized', Array.from({ length: 20_000 }, () => 'probe'), '20,000 items')
  if (field.in === 'body' && isBinary) add('oversized', new File([OVERSIZED], 'big.pdf', { type: 'application/pdf' }), '1 MiB file that is not a PDF')

  for (const value of some(NUL_STRINGS)) add('nul', value)
  if (isBinary) add('nul', new File(['%PDF-1.4\u0000\u0000'], 'a\u0000b.pdf', { type: 'application/pdf' }), 'file named with a NUL')
  for (const value of some(UNICODE_STRINGS)) add('unicode', value)
  if (isBinary) add('unicode', new File(['hello'], `${random.pick(UNICODE_STRINGS)}.txt`, { type: 'text/plain' }), 'file with an odd name')

  // Boundaries: of numbers, of lengths, of arrays, of enums.
  if (isNumber) {
    const numbers = [0, -1, 2 ** 31, 2 ** 53 + 2, -(2 ** 53), 1e308, 0.5, ...(b.min !== undefined ? [b.min, b.min - 1] : []), ...(b.max !== undefined ? [b.max, b.max + 1] : [])]
    for (const value of random.sample(numbers, Math.max(3, perCategory * 2))) add('boundary', field.in === 'body' ? value : String(value))
  }
  if (b.maxLength !== undefined) {
    add('boundary', 'b'.repeat(b.maxLength), `maxLength (${b.maxLength})`)
    add('boundary', 'b'.repeat(b.maxLength + 1), `maxLength+1 (${b.maxLength + 1})`)
    add('boundary', '\u{1F600}'.repeat(Math.ceil(b.maxLength / 2) + 1), `maxLength in surrogate pairs`)
  }
  if (b.minLength) add('boundary', 'b'.repeat(b.minLength - 1), `minLength-1 (${b.minLength - 1})`)
  if (field.in === 'body' && b.maxItems !== undefined) add('boundary', Array.from({ length: b.maxItems + 1 }, () => 'probe'), `maxItems+1 (${b.maxItems + 1})`)
  const enumeration = alternatives(schema).flatMap((alt) => alt.enum ?? [])
  if (enumeration.length > 0) {
    const member = String(random.pick(enumeration))
    add('boundary', member.toUpperCase(), `enum member upper-cased`)
    add('boundary', ` ${member}`, `enum member with a space`)
  }
  return out
}

export function describe(value: unknown): string {
  if (value instanceof Raw) return `raw ${describe(value.text)}`
  if (value instanceof File) return `file ${describe(value.name)} (${value.size} bytes)`
  if (typeof value === 'string') {
    if (value.length > 80) return `${value.length} chars starting ${JSON.stringify(value.slice(0, 12))}`
    return JSON.stringify(value)
  }
  const json = JSON.stringify(value)
  return json && json.length > 80 ? `${json.slice(0, 60)}… (${json.length} chars)` : String(json)
}

// ----- building requests -------------------------------------------------------------------

/** Percent-encodes a string byte-wise (a lone surrogate becomes U+FFFD's bytes, as a browser sends it). */
const encode = (text: string) => encodeURIComponent(text.toWellFormed())

export interface FuzzRequest {
  method: string
  path: string
  query: string
  headers: Record<string, string>
  body?: BodyInit
  /** The case brings its own credentials instead of the actor's. */
  identityOverride?: boolean
}

/** The route's valid request, with one field replaced by `value` (or left out). */
export function buildRequest(target: Target, baseline: Record<string, unknown>, pathValues: Record<string, string>, change: { field?: Field; value?: Value; contentType?: string } = {}): FuzzRequest {
  const { field, value } = change
  const replaced = (location: Location, name: string) => field?.in === location && field.name === name
  const path = target.path.replace(/:(\w+)/g, (_, name: string) => {
    const chosen = replaced('path', name) ? value : pathValues[name] ?? SAMPLE_ID
    return chosen instanceof Raw ? chosen.text : encode(String(chosen))
  })
  const query: string[] = []
  const headers: Record<string, string> = {}
  const body: Record<string, unknown> = {}
  for (const f of target.fields) {
    const own = field === f
    const chosen = own ? value : baseline[`${f.in}:${f.name}`]
    if (chosen === MISSING || chosen === undefined) continue
    if (f.in === 'query') {
      const values = Array.isArray(chosen) ? chosen : [chosen]
      for (const item of values) query.push(`${encodeURIComponent(f.name)}=${item instanceof Raw ? item.text : encode(typeof item === 'string' ? item : JSON.stringify(item))}`)
    } else if (f.in === 'header') headers[f.name] = String(chosen)
    else if (f.in === 'body') body[f.name] = chosen
  }
  const request: FuzzRequest = { method: target.method, path, query: query.join('&'), headers }
  if (target.bodyTypes.length === 0) return request
  if (target.rawBody) {
    const raw = field?.in === 'body' ? value : baseline['body:']
    if (raw !== MISSING) request.body = typeof raw === 'string' ? raw : JSON.stringify(raw)
    headers['content-type'] = target.bodyTypes[0]!
    return request
  }
  const contentType = change.contentType ?? target.bodyTypes[0]!
  request.body = encodeBody(body, contentType)
  if (!contentType.startsWith('multipart/')) headers['content-type'] = contentType
  return request
}

function encodeBody(body: Record<string, unknown>, contentType: string): BodyInit {
  if (contentType.includes('json')) return JSON.stringify(body, (_, value) => (value instanceof File ? value.name : value))
  const pairs: Array<[string, string | File]> = []
  for (const [name, value] of Object.entries(body)) {
    const values = Array.isArray(value) ? value : [value]
    for (const item of values) pairs.push([name, item instanceof File ? item : typeof item === 'string' ? item : JSON.stringify(item)])
  }
  if (contentType.startsWith('multipart/')) {
    const form = new FormData()
    for (const [name, value] of pairs) form.append(name, value)
    return form
  }
  return pairs.map(([name, value]) => `${encode(name)}=${encode(typeof value === 'string' ? value : value.name)}`).join('&')
}

/** Bodies that are broken as a whole, whatever the fields: for every route that takes one. */
export const BROKEN_BODIES: Array<{ label: string; contentType: string; body: BodyInit }> = [
  { label: 'truncated JSON', contentType: 'application/json', body: '{"question": "a' },
  { label: 'JSON array', contentType: 'application/json', body: '[1,2,3]' },
  { label: 'JSON string', contentType: 'application/json', body: '"probe"' },
  { label: 'JSON null', contentType: 'application/json', body: 'null' },
  { label: 'JSON with __proto__', contentType: 'application/json', body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}' },
  { label: 'deeply nested JSON', contentType: 'application/json', body: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { label: 'JSON with a lone surrogate escape', contentType: 'application/json', body: '{"name":"\\ud800","question":"\\udfff"}' },
  { label: 'JSON with a NUL escape', contentType: 'application/json', body: '{"name":"\\u0000","question":"\\u0000"}' },
  { label: 'invalid UTF-8 bytes', contentType: 'application/json', body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d]) },
  { label: '1 MiB of JSON whitespace', contentType: 'application/json', body: `${' '.repeat(ONE_MIB)}{}` },
  { label: 'empty body', contentType: 'application/json', body: '' },
  { label: 'XML', contentType: 'application/xml', body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>' },
  { label: 'multipart without a boundary', contentType: 'multipart/form-data', body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--' },
  { label: 'multipart, truncated', contentType: 'multipart/form-data; boundary=x', body: '--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhel' },
  { label: 'urlencoded with broken escapes', contentType: 'application/x-www-form-urlencoded', body: 'question=%&name=%zz&email=%ED%A0%80' },
  { label: 'a content type with odd parameters', contentType: 'application/json; charset=utf-16; boundary=""', body: '{}' },
  { label: 'text/plain', contentType: 'text/plain', body: 'probe' },
]

/** Headers every route is sent, a few per case: a browser's, a proxy's, an attacker's. */
export const HOSTILE_HEADERS: Array<Record<string, string>> = [
  { origin: 'null' },
  { origin: '::::' },
  { origin: 'http://[::1' },
  { origin: 'https://evil.example' },
  { origin: utf8Latin1('http://ex\u202Eample.com') },
  { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' },
  { 'x-request-id': 'x'.repeat(5000) },
  { 'x-request-id': '../../etc/passwd\u0001' },
  { 'x-request-id': utf8Latin1('\u{1F600}\u202E') },
  { 'x-forwarded-for': '1.2.3.4, ::::, 999.1.1.1' },
  { 'x-forwarded-proto': 'gopher' },
  { host: 'evil.example:99999' },
  { 'hx-request': 'true', 'hx-target': '#x"><script>' },
  { accept: 'text/html' },
  { accept: '*/*;q=foo, text/html;q=2' },
  { 'accept-language': 'xx-'.repeat(2000) },
  { cookie: 'council_session=%00%ff; council_session=x' },
  { cookie: `council_session=${'A'.repeat(8000)}` },
  { cookie: 'council_session=constructor.__proto__' },
  { 'x-csrf-token': 'x'.repeat(2000) },
  { 'content-length': '0' },
  { 'if-none-match': '"' },
  { range: 'bytes=-1-2' },
  { 'last-event-id': '-1' },
  { 'idempotency-key': 'x'.repeat(600) },
]
